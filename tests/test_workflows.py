"""Los flujos de trabajo de GitHub (``.github/workflows/``): lo que prometen, validados por
actionlint, y la reproducción de los pasos de ``tests.yml`` (``tools/ci_replay.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import ci_replay
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
#: La huella del entorno, igual en el Makefile (sello), .ci/run y los dos flujos.
HASH = "{ cat requirements.txt; python3 --version; } | sha256sum | cut -c1-16"


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# tests.yml
# ---------------------------------------------------------------------------------------------


def test_tests_workflow_runs_the_checks_on_push_and_pull_request():
    workflow = _load("tests.yml")
    assert {"push", "pull_request"} <= set(ci_replay.triggers(workflow))
    job = ci_replay.load_job(WORKFLOWS / "tests.yml")
    assert job.runs_on.startswith("ubuntu-")
    uses = {s.uses.split("@")[0]: s for s in job.steps if s.uses}
    assert set(uses) == {"actions/checkout", "actions/setup-python", "actions/cache"}
    assert uses["actions/setup-python"].with_["python-version"] == "3.11"
    scripts = "\n".join(s.run for s in ci_replay.run_steps(job))
    for command in ('make test VENV="$BNCOURSE_VENV"', 'make seeds VENV="$BNCOURSE_VENV"',
                    'make portable VENV="$BNCOURSE_VENV"'):
        assert command in scripts
    assert scripts.index("make test") < scripts.index("make seeds") < scripts.index("make portable")
    assert HASH in scripts


def test_tests_workflow_installs_what_ci_installs():
    """Los paquetes de Debian de .ci/run (menos Chromium, que las máquinas de GitHub ya traen y
    el paso busca en el PATH)."""
    job = ci_replay.load_job(WORKFLOWS / "tests.yml")
    scripts = "\n".join(s.run for s in ci_replay.run_steps(job))
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for package in ("hunspell", "hunspell-es", "hunspell-en-us"):
        assert f" {package}" in scripts and f" {package}" in ci
    assert "BNCOURSE_CHROMIUM=" in scripts and "GITHUB_ENV" in scripts
    assert HASH in ci


def test_tests_workflow_caches_the_environment_and_the_data():
    job = ci_replay.load_job(WORKFLOWS / "tests.yml")
    caches = [s.with_ for s in job.steps if (s.uses or "").startswith("actions/cache@")]
    assert {c["path"] for c in caches} == {"${{ env.BNCOURSE_VENV }}", "${{ env.BNCOURSE_DATA_DIR }}"}
    venv = next(c for c in caches if "VENV" in c["path"])
    assert "steps.rutas.outputs.hash" in venv["key"]
    assert any(s.id == "rutas" for s in job.steps)


# ---------------------------------------------------------------------------------------------
# publish.yml
# ---------------------------------------------------------------------------------------------


def test_publish_workflow_builds_and_deploys_to_pages():
    workflow = _load("publish.yml")
    on = workflow.get("on", workflow.get(True))
    assert on["push"]["branches"] == ["main"]
    build = ci_replay.load_job(WORKFLOWS / "publish.yml", "construir")
    assert any('make book VENV="$BNCOURSE_VENV"' in s.run for s in ci_replay.run_steps(build))
    upload = next(s for s in build.steps if (s.uses or "").startswith("actions/upload-pages-artifact@"))
    assert upload.with_["path"] == "_build/html"
    deploy = workflow["jobs"]["publicar"]
    assert deploy["needs"] == "construir"
    assert deploy["permissions"]["pages"] == "write"
    assert deploy["permissions"]["id-token"] == "write"
    assert deploy["environment"]["name"] == "github-pages"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])
    assert workflow["permissions"] == {"contents": "read"}


# ---------------------------------------------------------------------------------------------
# actionlint (make lint lo instala, fijado, fuera del entorno del libro)
# ---------------------------------------------------------------------------------------------


def _actionlint() -> Path:
    found = os.environ.get("BNCOURSE_ACTIONLINT")
    if not found or not Path(found).is_file():
        pytest.skip("actionlint no está instalado: «make lint» lo instala y define "
                    "BNCOURSE_ACTIONLINT")
    return Path(found)


def test_actionlint_accepts_the_workflows():
    done = subprocess.run([str(_actionlint()), *sorted(map(str, WORKFLOWS.glob("*.yml")))],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "roto.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/upload-pages-artifact@v5\n        with:\n          ruta: x\n"
        "      - run: echo ${{ steps.nada.outputs.x }}\n",
        encoding="utf-8",
    )
    done = subprocess.run([str(_actionlint()), str(broken)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 1
    assert 'input "ruta" is not defined' in done.stdout
    assert 'property "nada" is not defined' in done.stdout


# ---------------------------------------------------------------------------------------------
# La reproducción de los pasos
# ---------------------------------------------------------------------------------------------

TOY = """\
name: juguete
on: [push]
defaults:
  run:
    shell: bash
jobs:
  j:
    runs-on: ubuntu-24.04
    env:
      DEL_TRABAJO: "1"
    steps:
      - uses: actions/checkout@v7
      - uses: actions/setup-python@v7
        with:
          python-version: "{python}"
      - name: escribe
        id: e
        run: |
          echo "A=uno" >> "$GITHUB_ENV"
          {{ echo "VARIAS<<FIN"; echo "l1"; echo "l2"; echo "FIN"; }} >> "$GITHUB_ENV"
          echo "x=1" >> "$GITHUB_OUTPUT"
          mkdir -p bin && printf '#!/bin/sh\\necho herramienta\\n' > bin/herr && chmod +x bin/herr
          echo "$PWD/bin" >> "$GITHUB_PATH"
      - uses: actions/cache@v6
        with:
          path: x
          key: k
      - name: lee
        run: |
          test "$A" = uno && test "$DEL_TRABAJO" = 1 && test "$(herr)" = herramienta
          test "$VARIAS" = "$(printf 'l1\\nl2')"
          test -f archivo.txt
          echo "$A $DEL_TRABAJO" > "$SALIDA"
      - name: falla
        run: |
          false
          echo "no debía llegar" > "$SALIDA"
      - name: nunca
        run: echo nunca > "$SALIDA"
"""


def _python_version() -> str:
    return ".".join(map(str, sys.version_info[:2]))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flujo.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_replay_runs_the_exact_steps_with_github_files(tmp_path):
    job = ci_replay.load_job(_write(tmp_path, TOY.format(python=_python_version())))
    assert [s.name for s in ci_replay.run_steps(job)] == ["escribe", "lee", "falla", "nunca"]
    work = tmp_path / "clon"
    work.mkdir()
    (work / "archivo.txt").write_text("x")
    out = tmp_path / "salida.txt"
    log = tmp_path / "registro.txt"
    with log.open("w", encoding="utf-8") as f:
        code = ci_replay.replay(job, work, {"SALIDA": str(out)}, out=f)
    text = log.read_text(encoding="utf-8")
    assert code == 1  # el paso «falla» (bash -e se detiene en «false»)
    assert out.read_text().strip() == "uno 1"  # lo escribió «lee»; ni «falla» ni «nunca»
    assert "== FALLA el paso 6 («falla»), código 1" in text
    assert "Paso 7" not in text
    assert "(actions/cache@v6: sin caché" in text


def test_replay_drops_the_callers_python_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/otro/clon")
    flow = TOY.format(python=_python_version()).split("      - name: escribe")[0] + (
        '      - run: test -z "${PYTHONPATH:-}"\n'
    )
    job = ci_replay.load_job(_write(tmp_path, flow))
    assert ci_replay.replay(job, tmp_path, out=open(os.devnull, "w")) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("      - run: echo ${{ github.sha }}\n", "use variables de entorno"),
        ("      - if: always()\n        run: echo\n", "condiciones «if:»"),
        ("      - run: echo\n        shell: pwsh\n", "intérprete «pwsh» no admitido"),
        ("      - with:\n          a: b\n", "ni «run» ni «uses»"),
    ],
)
def test_replay_refuses_what_it_cannot_reproduce(tmp_path, extra, message):
    flow = "on: push\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    steps:\n" + extra
    with pytest.raises(ci_replay.WorkflowError, match=message):
        ci_replay.load_job(_write(tmp_path, flow))


def test_replay_refuses_unknown_actions_and_another_python(tmp_path):
    flow = ("on: push\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    steps:\n"
            "      - uses: actions/setup-python@v7\n        with:\n          python-version: '2.7'\n")
    job = ci_replay.load_job(_write(tmp_path, flow))
    with pytest.raises(ci_replay.WorkflowError, match="el flujo pide Python 2.7"):
        ci_replay.replay(job, tmp_path, out=open(os.devnull, "w"))
    flow = flow.replace("actions/setup-python@v7", "alguien/otra@v1")
    job = ci_replay.load_job(_write(tmp_path, flow))
    with pytest.raises(ci_replay.WorkflowError, match="«alguien/otra@v1» no se puede reproducir"):
        ci_replay.replay(job, tmp_path, out=open(os.devnull, "w"))


def test_two_jobs_need_a_name(tmp_path):
    flow = "on: push\njobs:\n  a:\n    steps: []\n  b:\n    steps: []\n"
    with pytest.raises(ci_replay.WorkflowError, match="tiene 2 trabajos"):
        ci_replay.load_job(_write(tmp_path, flow))


def test_fresh_clone_and_dry_run(tmp_path, capsys):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=x", "-c", "user.email=x@x"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a.txt").write_text("confirmado")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "a"], check=True)
    (repo / "b.txt").write_text("sin confirmar")
    clone = ci_replay.fresh_clone(repo, tmp_path / "clon")
    assert (clone / "a.txt").read_text() == "confirmado" and not (clone / "b.txt").exists()
    assert ci_replay.main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "make test" in out and "[uses actions/checkout@v7]" in out
