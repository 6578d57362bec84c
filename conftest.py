"""Configuración de pytest en la raíz del repositorio.

- ``pytest`` ejecuta las pruebas unitarias de ``tests/`` (las de navegador y ortografía se
  omiten, con el motivo, salvo que se pidan: véase abajo).
- ``pytest --nbval`` ejecuta además, de forma estricta, cada cuaderno de ``_toc.yml`` (y solo
  esos: nada de ``_build/`` ni de ``.ipynb_checkpoints``), con los mismos ajustes que
  ``make notebooks``: el archivo de normalización ``tests/sanitize.cfg``, un límite de
  ``CELL_TIMEOUT`` segundos por celda (600 por defecto), el intérprete de este entorno, la
  semilla 0 (la de las salidas guardadas), ``TF_CPP_MIN_LOG_LEVEL=2`` y el ``bncourse`` de este
  clon. Una opción dada en la línea de órdenes manda sobre estos valores.
- Las pruebas marcadas ``browser`` (necesitan Chromium y el libro construido) y ``spelling``
  (necesitan hunspell) solo se ejecutan cuando se piden: con ``-m browser`` / ``-m spelling``
  (``make browser``, ``make spelling``) o nombrando su archivo. Si no, se omiten y ``-ra`` dice
  por qué.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))

from book_files import toc_notebooks  # noqa: E402

SANITIZE = ROOT / "tests" / "sanitize.cfg"
NBVAL_DEFAULT_TIMEOUT = 2000  # el valor por defecto de nbval, que aquí se sustituye
CELL_TIMEOUT = float(os.environ.get("CELL_TIMEOUT", "600"))
#: Carpetas de las que nunca se recoge un cuaderno.
NEVER = {"_build", ".ipynb_checkpoints", ".venv"}
#: Marcas que solo se ejecutan cuando se piden, con lo que hace falta para ellas.
ON_REQUEST = {
    "browser": "necesita Chromium y el libro construido; se ejecuta con «make browser» "
    "(o «pytest -m browser» tras «make book-check»)",
    "spelling": "necesita hunspell con los diccionarios es_ES y en_US; se ejecuta con "
    "«make spelling» (o «pytest -m spelling»)",
}


def _nbval(config) -> bool:
    return bool(getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False))


def _explicit_paths(config) -> set[Path]:
    """Archivos y carpetas nombrados en la línea de órdenes (sin ``::prueba``)."""
    paths = set()
    for arg in config.args:
        path = Path(arg.split("::")[0])
        if not path.is_absolute():
            path = Path(config.invocation_params.dir) / path
        paths.add(path.resolve())
    return paths


def pytest_configure(config):
    if not _nbval(config):
        return
    option = config.option
    if option.nbval_sanitize_with is None and not getattr(option, "sanitize_with", None):
        option.nbval_sanitize_with = str(SANITIZE)
    if option.nbval_cell_timeout == NBVAL_DEFAULT_TIMEOUT:
        option.nbval_cell_timeout = CELL_TIMEOUT
    if not option.nbval_kernel_name and not getattr(option, "current_env", False):
        option.nbval_current_env = True
    # El entorno de los núcleos (procesos hijos), como en el Makefile.
    os.environ["BNCOURSE_SEED"] = "0"  # las salidas guardadas son las de la semilla 0
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    path = os.environ.get("PYTHONPATH", "")
    if str(ROOT) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), path) if p)
    shared = ROOT.parent / "shared" / "data"
    if "BNCOURSE_DATA_DIR" not in os.environ and shared.is_dir():
        os.environ["BNCOURSE_DATA_DIR"] = str(shared)


def pytest_report_header(config):
    if not _nbval(config):
        return None
    option = config.option
    return (
        f"nbval: {len(toc_notebooks())} cuadernos en _toc.yml; normalización "
        f"{option.nbval_sanitize_with}; límite por celda {option.nbval_cell_timeout:g} s; "
        f"BNCOURSE_SEED={os.environ.get('BNCOURSE_SEED')}"
    )


def pytest_ignore_collect(collection_path, config):
    path = Path(collection_path)
    try:
        parts = path.resolve().relative_to(ROOT).parts
    except ValueError:
        parts = path.parts
    if NEVER & set(parts):
        return True
    if path.suffix == ".ipynb" and path.is_file() and _nbval(config):
        if path.resolve() in _explicit_paths(config):
            return None  # pedido por su nombre
        if path.resolve() not in {p.resolve() for p in toc_notebooks()}:
            return True  # solo los cuadernos del índice forman el libro
    return None


def _asked(config, item, marker: str) -> bool:
    expression = config.option.markexpr or ""
    if re.search(rf"\b{marker}\b", expression):
        return True
    return Path(str(item.path)).resolve() in _explicit_paths(config)


def pytest_collection_modifyitems(config, items):
    for item in items:
        for marker, reason in ON_REQUEST.items():
            if item.get_closest_marker(marker) and not _asked(config, item, marker):
                item.add_marker(pytest.mark.skip(reason=f"prueba «{marker}»: {reason}"))
