"""``pytest`` y ``pytest --nbval`` desde la raíz (``conftest.py`` y ``pyproject.toml``), en un
repositorio de juguete: los cuadernos de ``_toc.yml`` y solo esos, con el archivo de
normalización y el límite por celda; las pruebas de navegador y de ortografía, solo a petición."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]

TOC = """\
format: jb-book
root: book/intro
chapters:
  - file: book/a
  - file: book/b
"""


def _notebook(path: Path, source: str, output: str | None = None) -> None:
    cell = nbformat.v4.new_code_cell(source, execution_count=1)
    if output is not None:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    for name in ("conftest.py", "pyproject.toml", "tools/book_files.py", "tests/sanitize.cfg"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    (root / "_toc.yml").write_text(TOC, encoding="utf-8")
    (root / "book" / "intro.md").parent.mkdir()
    (root / "book" / "intro.md").write_text("# Intro\n", encoding="utf-8")
    # La salida guardada solo coincide tras normalizar el tiempo (tests/sanitize.cfg).
    _notebook(root / "book" / "a.ipynb", "print('tardó 3.2 s')", "tardó 0.4 s\n")
    _notebook(root / "book" / "b.ipynb", "import os\nprint(os.environ['BNCOURSE_SEED'])", "0\n")
    # Ninguno de estos se debe ejecutar: fallarían.
    failing = "raise SystemExit('no debía ejecutarse')"
    _notebook(root / "book" / "fuera_del_indice.ipynb", failing)
    _notebook(root / "book" / ".ipynb_checkpoints" / "a-checkpoint.ipynb", failing)
    _notebook(root / "_build" / "html" / "_sources" / "book" / "a.ipynb", failing)
    (root / "tests" / "test_unidad.py").write_text("def test_unidad():\n    pass\n")
    (root / "tests" / "test_marcas.py").write_text(
        "import pytest\n\n\n@pytest.mark.browser\ndef test_navegador():\n    pass\n\n\n"
        "@pytest.mark.spelling\ndef test_ortografia():\n    pass\n"
    )
    return root


def _pytest(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BNCOURSE_SEED", "PYTEST_"))}
    env["BNCOURSE_SEED"] = "7"  # nbval la fija en 0, la de las salidas guardadas
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )


def _collected(output: str) -> list[str]:
    return sorted(line for line in output.splitlines() if "::" in line)


def test_plain_pytest_collects_the_unit_tests_alone(repo):
    done = _pytest(repo, "--collect-only", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _collected(done.stdout) == [
        "tests/test_marcas.py::test_navegador",
        "tests/test_marcas.py::test_ortografia",
        "tests/test_unidad.py::test_unidad",
    ]


def test_plain_pytest_skips_browser_and_spelling_with_a_reason(repo):
    done = _pytest(repo, "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b1 passed, 2 skipped\b", done.stdout), done.stdout
    assert "prueba «browser»: necesita Chromium y el libro construido" in done.stdout
    assert "prueba «spelling»: necesita hunspell" in done.stdout
    asked = _pytest(repo, "-q", "-m", "browser")
    assert re.search(r"\b1 passed, 2 deselected\b", asked.stdout), asked.stdout


def test_nbval_collects_the_toc_notebooks_and_the_unit_tests(repo):
    done = _pytest(repo, "--nbval", "--collect-only", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    notebooks = sorted({line.split("::")[0] for line in _collected(done.stdout)} - {
        "tests/test_marcas.py", "tests/test_unidad.py"})
    assert notebooks == ["book/a.ipynb", "book/b.ipynb"]
    assert "tests/test_unidad.py::test_unidad" in done.stdout


def test_nbval_runs_strictly_with_the_project_settings(repo):
    done = _pytest(repo, "--nbval")  # sin -q, para ver la cabecera
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "nbval: 2 cuadernos en _toc.yml; normalización " in output
    assert "sanitize.cfg; límite por celda 600 s; BNCOURSE_SEED=0" in output
    assert re.search(r"\b3 passed, 2 skipped\b", output), output
    assert "no debía ejecutarse" not in output


def test_nbval_is_strict_and_options_win(repo):
    """Sin el archivo de normalización, la salida del tiempo no coincide: nbval es estricto y la
    opción de la línea de órdenes manda sobre el valor por defecto."""
    empty = repo / "vacio.cfg"
    empty.write_text("", encoding="utf-8")
    done = _pytest(repo, "--nbval", f"--nbval-sanitize-with={empty}",
                   "--nbval-cell-timeout=30", "book/a.ipynb")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "límite por celda 30 s" in output and "1 failed" in output


def test_a_notebook_named_on_the_command_line_runs_even_outside_the_toc(repo):
    done = _pytest(repo, "--nbval", "--collect-only", "-q", "book/fuera_del_indice.ipynb")
    assert "book/fuera_del_indice.ipynb::" in done.stdout, done.stdout + done.stderr
