"""La celda de instalación de cada capítulo (``tools/colab_cell.py``): la misma plantilla en todos,
al día con ``_config.yml``, muda donde bncourse ya está, y con un error claro donde no se puede
instalar."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import colab_cell
import nbformat
import pytest
from book_files import toc_notebooks

ROOT = Path(__file__).resolve().parents[1]


def _nb(*cells: str, markdown_first: bool = True):
    nb = nbformat.v4.new_notebook()
    if markdown_first:
        nb.cells.append(nbformat.v4.new_markdown_cell("# Capítulo"))
    for i, source in enumerate(cells, start=1):
        nb.cells.append(nbformat.v4.new_code_cell(source, execution_count=i))
    return nb


# ---------------------------------------------------------------------------------------------
# Los capítulos del libro
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", toc_notebooks(), ids=lambda p: p.name)
def test_first_code_cell_is_the_generated_bootstrap(path):
    """La primera celda de código es exactamente la que genera la plantilla (con la fuente de
    _config.yml y los extras que piden los import del capítulo): no puede desviarse a mano."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    want = colab_cell.expected_cell(nb)
    fix = "ejecute «python tools/colab_cell.py» y vuelva a ejecutar nbval"
    assert colab_cell.is_bootstrap(code[0]), f"{path.name}: falta la celda de instalación; {fix}"
    assert code[0].source == want.source, f"{path.name}: la celda de instalación difiere; {fix}"
    assert code[0].outputs == [], f"{path.name}: la celda de instalación guarda salidas"
    assert code[0].execution_count == 1, f"{path.name}: sin número de ejecución, nbval no la compara"
    assert colab_cell.TAG in code[0].metadata.get("tags", []), f"{path.name}: sin «{colab_cell.TAG}»"
    assert sum(colab_cell.is_bootstrap(c) for c in code) == 1
    assert not colab_cell.apply(nb), f"{path.name}: {fix}"


def test_check_mode_agrees_with_the_book(capsys):
    assert colab_cell.main(["--check"]) == 0
    out = capsys.readouterr().out
    assert out.count("al día") == len(toc_notebooks())


@pytest.mark.parametrize(
    ("name", "extras"),
    [
        ("01_datos", []),
        ("02_teoria", ["torch"]),
        ("03_keras", ["keras"]),
        ("04_pytorch", ["torch"]),
    ],
)
def test_extras_of_some_chapters(name, extras):
    path = ROOT / "book" / f"{name}.ipynb"
    if path not in toc_notebooks():
        pytest.skip(f"{name} ya no está en _toc.yml")
    assert colab_cell.chapter_extras(nbformat.read(path, as_version=4)) == extras


def test_install_source_comes_from_config(tmp_path):
    assert colab_cell.install_source() == "git+https://github.com/bncourse/bncourse@main"
    (tmp_path / "_config.yml").write_text(
        "repository:\n  url: https://example.org/yo/curso/\n  branch: dev\n", encoding="utf-8"
    )
    assert colab_cell.install_source(tmp_path) == "git+https://example.org/yo/curso@dev"
    (tmp_path / "_config.yml").write_text("title: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="repository: url:"):
        colab_cell.install_source(tmp_path)


# ---------------------------------------------------------------------------------------------
# La herramienta
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "extras"),
    [
        (["import numpy as np\nimport bncourse"], []),
        (["import torch\nfrom torch import nn"], ["torch"]),
        (["import torchvision.transforms as T"], ["torch"]),
        (["from bncourse.torch.experiments import MNISTRun"], ["torch"]),
        (["from bncourse import keras as bk"], ["keras"]),
        (["import keras\nfrom keras import layers"], ["keras"]),
        (["%matplotlib inline\nimport tensorflow as tf", "!ls"], ["keras"]),
        (["import keras", "import torch"], ["torch", "keras"]),
        (["from bncourse import torch_helpers"], []),  # no es bncourse.torch
    ],
)
def test_chapter_extras_from_imports(cells, extras):
    assert colab_cell.chapter_extras(_nb(*cells)) == extras


def test_apply_inserts_once_before_the_first_code_cell():
    nb = _nb("import torch", "x = 1")
    assert colab_cell.apply(nb, "git+https://example.org/r@main")
    kinds = [(c.cell_type, c.get("execution_count")) for c in nb.cells]
    assert kinds == [("markdown", None), ("code", 1), ("code", 2), ("code", 3)]
    first = nb.cells[1]
    assert first.id == colab_cell.CELL_ID and first.outputs == []
    assert first.metadata["tags"] == [colab_cell.TAG]
    assert '{"torch": ("torch", "torchvision")}' in first.source
    assert "git+https://example.org/r@main" in first.source
    nbformat.validate(nb)
    snapshot = nbformat.writes(nb)
    assert not colab_cell.apply(nb, "git+https://example.org/r@main")  # idempotente
    assert nbformat.writes(nb) == snapshot


def test_apply_updates_in_place_without_renumbering():
    nb = _nb("import torch", "x = 1")
    colab_cell.apply(nb, "git+https://example.org/r@main")
    nb.cells[3].source = "import keras"  # el capítulo cambia de marco
    nb.cells[1].source += "\n# editada a mano"
    assert colab_cell.apply(nb, "git+https://example.org/otra@main")
    assert [c.get("execution_count") for c in nb.cells] == [None, 1, 2, 3]
    assert '"torch": ("torch", "torchvision"), "keras": ("tensorflow", "keras")' in nb.cells[1].source
    assert "otra@main" in nb.cells[1].source and "editada a mano" not in nb.cells[1].source


def test_apply_moves_a_misplaced_or_duplicated_cell():
    nb = _nb("import numpy", markdown_first=False)
    colab_cell.apply(nb, "git+https://example.org/r@main")
    stray = nbformat.from_dict(json.loads(json.dumps(nb.cells[0])))
    stray["id"] = "otra"
    nb.cells.insert(0, nbformat.v4.new_code_cell("y = 2", execution_count=5))
    nb.cells.append(stray)
    assert colab_cell.apply(nb, "git+https://example.org/r@main")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert colab_cell.is_bootstrap(code[0]) and code[0].id == colab_cell.CELL_ID
    assert sum(colab_cell.is_bootstrap(c) for c in code) == 1


def test_bootstrap_source_rejects_bad_input():
    with pytest.raises(ValueError, match="extras desconocidos"):
        colab_cell.bootstrap_source(["jax"], "git+https://example.org/r")
    with pytest.raises(ValueError, match="comillas"):
        colab_cell.bootstrap_source([], 'git+https://example.org/"r')


# ---------------------------------------------------------------------------------------------
# La celda, ejecutada
# ---------------------------------------------------------------------------------------------

HARNESS = textwrap.dedent(
    """\
    import json, os, sys
    code, report = sys.argv[1], sys.argv[2]
    env, path = dict(os.environ), list(sys.path)
    scope = {"__name__": "__main__"}
    try:
        exec(compile(open(code, encoding="utf-8").read(), "celda", "exec"), scope)
        error = None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    import importlib.util
    json.dump({"error": error, "names": sorted(k for k in scope if k not in ("__builtins__", "__name__")),
               "env_same": dict(os.environ) == env, "path_same": sys.path == path,
               "bncourse": importlib.util.find_spec("bncourse") is not None},
              open(report, "w", encoding="utf-8"))
    """
)


def _run_cell(tmp_path, python, extras, env, *flags):
    code = tmp_path / "celda.py"
    code.write_text(
        colab_cell.bootstrap_source(extras, "git+https://example.org/bncourse@main"),
        encoding="utf-8",
    )
    harness = tmp_path / "harness.py"
    harness.write_text(HARNESS, encoding="utf-8")
    report = tmp_path / "informe.json"
    done = subprocess.run(
        [str(python), *flags, str(harness), str(code), str(report)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done, json.loads(report.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """Un intérprete sin bncourse y sin pip: un entorno virtual vacío."""
    venv = tmp_path_factory.mktemp("sin-bncourse") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    return venv / "bin" / "python"


def _bare_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BNCOURSE_INSTALL_SOURCE")}
    env.update(extra)
    return env


def test_cell_is_silent_where_bncourse_is_importable(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BNCOURSE_INSTALL_SOURCE": "/no/existe"}
    done, report = _run_cell(tmp_path, sys.executable, ["torch"], env)
    assert done.stdout == "" and done.stderr == ""
    assert report["error"] is None and report["names"] == ["importlib"]
    assert report["env_same"] and report["path_same"]


def test_missing_source_stops_the_cell_with_a_spanish_message(tmp_path, bare_python):
    missing = tmp_path / "no-existe"
    env = _bare_env(BNCOURSE_INSTALL_SOURCE=str(missing))
    done, report = _run_cell(tmp_path, bare_python, ["torch"], env, "-I")
    error = report["error"]
    assert error.startswith("RuntimeError: No se puede instalar bncourse: la fuente")
    assert f"«{missing}»" in error and "BNCOURSE_INSTALL_SOURCE" in error
    assert "Instálelo a mano con «pip install 'bncourse[torch] @ " in error
    assert done.stdout == ""  # ni siquiera anuncia una instalación
    assert report["names"] == ["importlib"]  # ni la función auxiliar queda
    assert report["env_same"] and report["path_same"] and not report["bncourse"]


def test_failed_install_stops_the_cell_and_changes_nothing(tmp_path, bare_python):
    source = tmp_path / "clon"
    source.mkdir()
    site = next(bare_python.parent.parent.glob("lib/python3*/site-packages"))
    before = sorted(p.name for p in site.iterdir())
    env = _bare_env(BNCOURSE_INSTALL_SOURCE=str(source))
    done, report = _run_cell(tmp_path, bare_python, ["keras"], env, "-I")
    error = report["error"]
    assert error.startswith(f"RuntimeError: No se pudo instalar bncourse desde «{source}»")
    assert "pip terminó con el código 1" in error and "No module named pip" in error
    assert "Instálelo a mano con «pip install 'bncourse[keras] @ " in error
    assert f"«{source}[keras]»" in done.stdout  # anunció qué intentaba instalar
    assert sorted(p.name for p in site.iterdir()) == before
    assert report["names"] == ["importlib"]
    assert report["env_same"] and report["path_same"] and not report["bncourse"]


def test_launch_buttons_lead_only_to_existing_environments():
    """Cada capítulo se abre en Colab (su primera celda instala bncourse), y _config.yml solo
    pide el botón de Binder si existe binder/ (tools/site_check.py lo comprueba en el sitio)."""
    import site_check
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    buttons = config.get("launch_buttons") or {}
    assert buttons.get("colab_url") == "https://colab.research.google.com"
    for source in toc_notebooks():
        launch = site_check.launch_for(source)
        assert launch.colab, f"{source.name}: sin la celda de instalación de Colab"
        assert launch.notebook == source.relative_to(ROOT).as_posix()
        if buttons.get("binderhub_url"):
            assert launch.binder, "_config.yml pide el botón de Binder, pero no existe binder/"
    unknown = set(buttons) - {"colab_url", "notebook_interface"}
    assert not unknown, f"botones de ejecución sin entorno comprobado: {sorted(unknown)}"
