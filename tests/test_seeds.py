"""La semilla de cada capítulo (``BNCOURSE_SEED``), las semillas derivadas, las cifras anotadas
para ``make seeds`` y las herramientas que las resumen (``tools/run_seeds.py``,
``tools/seed_table.py``), más la política de semillas de los cuadernos del libro."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import run_seeds
import seed_table
from book_files import toc_notebooks
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import bncourse
from bncourse import chapter_seed, derive_seed, record_figure

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", os.environ.get("PYTHONHASHSEED", "0"))
    monkeypatch.delenv("BNCOURSE_SEED", raising=False)
    monkeypatch.delenv("BNCOURSE_FIGURES_DIR", raising=False)
    return monkeypatch


@pytest.mark.parametrize(("text", "seed"), [("", 0), ("   ", 0), ("1", 1), (" 2 ", 2), ("007", 7),
                                            (str(2**32 - 1), 2**32 - 1)])
def test_chapter_seed_reads_the_environment(clean_env, text, seed):
    clean_env.setenv("BNCOURSE_SEED", text)
    assert chapter_seed() == seed
    assert type(chapter_seed()) is int


def test_chapter_seed_default_and_seeding(clean_env):
    assert chapter_seed() == 0
    assert chapter_seed(5) == 5
    import random

    chapter_seed(3)
    first = random.random()
    chapter_seed(3)
    assert random.random() == first
    chapter_seed(4, apply=False)
    assert random.random() != first


@pytest.mark.parametrize("text", ["abc", "-1", "1.5", "1e3", "0x10", "uno", "²", "١"])
def test_chapter_seed_rejects_what_is_not_a_non_negative_integer(clean_env, text):
    clean_env.setenv("BNCOURSE_SEED", text)
    with pytest.raises(ValueError, match="BNCOURSE_SEED debe ser un número entero no negativo") as info:
        chapter_seed()
    assert repr(text) in str(info.value)


def test_chapter_seed_rejects_too_large(clean_env):
    clean_env.setenv("BNCOURSE_SEED", str(2**32))
    with pytest.raises(ValueError, match="entre 0 y 4294967295; contiene 4294967296"):
        chapter_seed()


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"default": -1}, ValueError, "«default» debe ser mayor o igual que 0"),
    ({"default": "0"}, TypeError, "«default» debe ser un número entero"),
    ({"apply": 1}, TypeError, "«apply» debe ser True o False"),
])
def test_chapter_seed_bad_arguments(clean_env, kwargs, error, message):
    with pytest.raises(error, match=message):
        chapter_seed(**kwargs)


def test_derive_seed_is_stable_and_separates_uses():
    a = derive_seed(0, "pesos")
    assert a == derive_seed(0, "pesos")
    assert a != derive_seed(1, "pesos")
    assert a != derive_seed(0, "datos")
    assert derive_seed(0, "pesos", 1) != derive_seed(0, "pesos", 2)
    # «a», «b» no es «a\x1fb» escrito de otra forma que colisione con «ab».
    assert derive_seed(0, "a", "b") != derive_seed(0, "ab")
    values = {derive_seed(s, "x") for s in range(200)}
    assert len(values) == 200 and all(0 <= v < 2**31 for v in values)


def test_derive_seed_does_not_depend_on_the_hash_seed():
    code = "from bncourse import derive_seed; print(derive_seed(3, 'subconjunto', 2))"
    outputs = set()
    for hash_seed in ("0", "1", "random"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, timeout=60, check=True)
        outputs.add(result.stdout.strip())
    assert outputs == {str(derive_seed(3, "subconjunto", 2))}


@pytest.mark.parametrize(("args", "error", "message"), [
    ((-1, "x"), ValueError, "«seed» debe ser mayor o igual que 0"),
    (("0", "x"), TypeError, "«seed» debe ser un número entero"),
    ((0,), ValueError, "al menos un nombre de uso"),
    ((0, 1.5), TypeError, "debe ser un texto o un entero"),
    ((0, True), TypeError, "debe ser un texto o un entero"),
])
def test_derive_seed_bad_input(args, error, message):
    with pytest.raises(error, match=message):
        derive_seed(*args)


def test_record_figure_writes_only_when_asked(clean_env, tmp_path):
    assert record_figure("cap", "exactitud", 0.5, seed=0) == 0.5
    assert list(tmp_path.iterdir()) == []
    clean_env.setenv("BNCOURSE_FIGURES_DIR", str(tmp_path / "cifras"))
    record_figure("cap", "exactitud", 0.5, seed=1)
    record_figure("cap", "pasos", 120, seed=1)
    record_figure("cap", "exactitud", 0.75, seed=1)  # la última gana
    record_figure("cap", "exactitud", 0.25, seed=2)
    data = json.loads((tmp_path / "cifras" / "cap-semilla1.json").read_text(encoding="utf-8"))
    assert data == {"exactitud": 0.75, "pasos": 120.0}
    table = seed_table.collect(tmp_path / "cifras")
    assert table == {"cap": {"exactitud": {1: 0.75, 2: 0.25}, "pasos": {1: 120.0}}}
    text = seed_table.render(table)
    assert "| cap | exactitud | 0.75 | 0.25 | 0.25 | 0.75 |" in text
    assert "| cap | pasos | 120 |  | 120 | 120 |" in text
    assert seed_table.write(tmp_path / "cifras").read_text(encoding="utf-8").strip() == text


@pytest.mark.parametrize(("args", "error", "message"), [
    (("", "x", 1.0), ValueError, "«chapter» debe ser un texto no vacío"),
    (("c", "", 1.0), ValueError, "«name» debe ser un texto no vacío"),
    (("c", "x", "1"), TypeError, "«value» debe ser un número real"),
    (("c", "x", True), TypeError, "«value» debe ser un número real"),
])
def test_record_figure_bad_input(args, error, message):
    with pytest.raises(error, match=message):
        record_figure(*args, seed=0)


def test_seed_table_without_figures(tmp_path):
    assert "No hay cifras anotadas" in seed_table.render(seed_table.collect(tmp_path))


def test_run_seeds_parses_the_seed_list():
    assert run_seeds.parse_seeds("0 1, 2") == [0, 1, 2]
    with pytest.raises(SystemExit, match="enteros no negativos; contiene '-1'"):
        run_seeds.parse_seeds("0 -1")
    with pytest.raises(SystemExit, match="SEEDS está vacía"):
        run_seeds.parse_seeds(" ")


def _notebook(tmp_path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "cap.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_run_seeds_runs_each_seed_and_fails_on_a_seed_that_breaks(tmp_path, monkeypatch, capsys):
    path = _notebook(tmp_path, [
        "import bncourse\nSEED = bncourse.chapter_seed()",
        "bncourse.record_figure('cap', 'semilla', SEED, seed=SEED)\nassert SEED != 2, 'falla con 2'",
    ])
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    figures = tmp_path / "cifras"
    before = path.read_bytes()
    assert run_seeds.main(["--seeds", "0 1", "--figures", str(figures), str(path)]) == 0
    assert seed_table.collect(figures) == {"cap": {"semilla": {0: 0.0, 1: 1.0}}}
    assert run_seeds.main(["--seeds", "2", "--figures", str(figures), str(path)]) == 1
    out = capsys.readouterr().out
    assert "FALLA con la semilla 2" in out and "falla con 2" in out
    assert path.read_bytes() == before  # no modifica el cuaderno


@pytest.mark.slow
def test_run_seeds_reports_a_dead_kernel_and_goes_on(tmp_path, monkeypatch, capsys):
    dead = _notebook(tmp_path, ["import os\nos._exit(3)"])
    alive = dead.with_name("vivo.ipynb")
    dead.rename(tmp_path / "muerto.ipynb")
    dead = tmp_path / "muerto.ipynb"
    _notebook(tmp_path, ["x = 1"]).rename(alive)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    code = run_seeds.main(["--seeds", "0", "--figures", str(tmp_path / "cifras"), str(dead), str(alive)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FALLA con la semilla 0: DeadKernelError: el núcleo murió" in out
    assert f"Semilla 0: {alive} ..." in out  # sigue con el cuaderno siguiente
    assert f"  {dead} con la semilla 0" in out


def test_seed_table_escapes_the_column_separator():
    text = seed_table.render({"cap": {"|Δ| de exactitud": {0: 0.5}}})
    assert "| cap | \\|Δ\\| de exactitud | 0.5 | 0.5 | 0.5 |" in text


@pytest.mark.slow
def test_a_bad_seed_stops_the_first_cell(tmp_path, monkeypatch):
    path = _notebook(tmp_path, ["import bncourse\nSEED = bncourse.chapter_seed()", "1 / 0"])
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("BNCOURSE_SEED", "tres")
    nb = nbformat.read(path, as_version=4)
    with pytest.raises(CellExecutionError) as info:
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    assert "BNCOURSE_SEED debe ser un número entero no negativo" in str(info.value)
    assert "'tres'" in str(info.value)
    assert "ZeroDivisionError" not in str(info.value)  # se detiene en la primera celda


# ---------------------------------------------------------------------------------------------
# Política de semillas del libro (DESIGN §3)
# ---------------------------------------------------------------------------------------------

SEED_CALL = "SEED = bncourse.chapter_seed()"


@pytest.mark.parametrize("path", toc_notebooks(), ids=lambda p: p.name)
def test_each_chapter_reads_its_seed_in_its_first_code_cells(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert any(SEED_CALL in c.source for c in code[:2]), (
        f"{path.name}: una de sus dos primeras celdas de código debe leer la semilla con "
        f"«{SEED_CALL}»."
    )


# Semillas escritas a mano en vez de derivadas de SEED: «seed=0», «manual_seed(0)»,
# «default_rng(3)», «seed_everything(0)», «SEED = 0».
FIXED_SEED = re.compile(
    r"\b(?:seed\s*=\s*\d|manual_seed\(\s*\d|default_rng\(\s*\d|seed_everything\(\s*\d"
    r"|SEED\s*=\s*\d|default_rng\(\s*\))"
)


@pytest.mark.parametrize("path", toc_notebooks(), ids=lambda p: p.name)
def test_no_chapter_fixes_a_seed_by_hand(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            assert not FIXED_SEED.search(line.split("#")[0]), (
                f"{path.name}, celda {i}: semilla fija a mano (derívela de SEED con "
                f"bncourse.derive_seed): {line.strip()!r}"
            )


def test_package_exports_the_seed_helpers():
    assert {"chapter_seed", "derive_seed", "record_figure"} <= set(bncourse.__all__)
