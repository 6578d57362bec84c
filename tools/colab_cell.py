"""La celda de instalación de cada capítulo: el cuaderno se ejecuta también donde falta bncourse.

Colab (o cualquier Jupyter sin el paquete del curso) no tiene ``bncourse``, y todos los capítulos
lo importan. Esta herramienta pone en cada cuaderno de ``_toc.yml``, como **primera celda de
código**, una celda generada desde una sola plantilla (:data:`TEMPLATE`) que:

- si ``bncourse`` se puede importar (el entorno del curso, ``make notebooks``, el libro), no hace
  nada y no escribe nada: su salida guardada está vacía y nbval lo comprueba;
- si no, instala ``bncourse`` con ``pip`` desde la fuente configurada en un solo sitio, la URL
  del repositorio de ``_config.yml`` (``repository.url`` y ``repository.branch``), salvo que la
  variable de entorno ``BNCOURSE_INSTALL_SOURCE`` indique otra (una URL que entienda pip o la
  carpeta de un clon). Pide los extras que el capítulo necesita según sus ``import``
  (``bncourse[torch]``, ``bncourse[keras]`` o ninguno), y solo los de los marcos que falten: Colab
  ya trae PyTorch, TensorFlow y Keras, y reinstalarlos no tendría sentido;
- si la fuente no existe o ``pip`` falla, se detiene con un mensaje en español que nombra la
  fuente y dice cómo instalarlo a mano, sin tocar nada más.

La celda lleva la etiqueta ``remove-input``: el libro renderizado no la muestra.

Uso::

    python tools/colab_cell.py            # inserta o actualiza la celda en cada capítulo
    python tools/colab_cell.py --check    # solo comprueba; termina con 1 si alguno difiere
    python tools/colab_cell.py book/02_teoria.ipynb   # solo ese cuaderno

Es idempotente: una segunda ejecución no cambia nada. ``tests/test_colab_cell.py`` comprueba
que la primera celda de código de cada capítulo es exactamente la que genera la plantilla.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))

from book_files import toc_notebooks  # noqa: E402

#: Identificador (``id``) de la celda en el cuaderno; así se reconoce al actualizarla.
CELL_ID = "instalar-bncourse"
#: Etiqueta de myst-nb que oculta la celda en el libro renderizado (su salida está vacía).
TAG = "remove-input"
#: Primera línea de la celda: también sirve para reconocerla.
MARKER = "# Instala bncourse si falta (por ejemplo, en Colab); si ya está instalado, no hace nada."

#: Extras de bncourse y los módulos que cada uno aporta, en el orden en que se importan
#: (PyTorch antes que TensorFlow: véase DESIGN §8).
EXTRAS = {"torch": ("torch", "torchvision"), "keras": ("tensorflow", "keras")}

TEMPLATE = '''\
{marker}
# Celda generada por tools/colab_cell.py (no la edite a mano). Fuente: BNCOURSE_INSTALL_SOURCE
# o, si no está definida, {default}; con los extras de los
# marcos que usa este capítulo y que falten.
import importlib.util

if importlib.util.find_spec("bncourse") is None:

    def _install_bncourse(frameworks_needed, source):
        import os
        import subprocess
        import sys

        source = os.environ.get("BNCOURSE_INSTALL_SOURCE", "").strip() or source
        missing = [e for e, mods in frameworks_needed.items()
                   if any(importlib.util.find_spec(m) is None for m in mods)]
        extras = f"[{{','.join(missing)}}]" if missing else ""
        by_hand = (f"Instálelo a mano con «pip install 'bncourse{{extras}} @ {default}'» "
                   "(en Colab, «%pip install ...»), o desde un clon del repositorio con "
                   f"«pip install '/ruta/al/clon{{extras}}'», y vuelva a ejecutar esta celda.")
        if "://" in source:
            requirement = f"bncourse{{extras}} @ {{source}}"
        elif os.path.isdir(source):
            requirement = os.path.abspath(source) + extras
        else:
            raise RuntimeError(
                f"No se puede instalar bncourse: la fuente «{{source}}» no es una URL ni una "
                f"carpeta que exista (revise BNCOURSE_INSTALL_SOURCE). {{by_hand}}")
        print(f"bncourse no está instalado: instalando «{{requirement}}» con pip...", flush=True)
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", requirement],
                             capture_output=True, text=True)
        if pip.returncode != 0:
            tail = "\\n".join((pip.stdout + pip.stderr).strip().splitlines()[-15:])
            raise RuntimeError(
                f"No se pudo instalar bncourse desde «{{source}}» (pip terminó con el código "
                f"{{pip.returncode}}):\\n{{tail}}\\n{{by_hand}}")
        importlib.invalidate_caches()
        print("bncourse instalado.")

    try:
        _install_bncourse({frameworks}, "{default}")
    finally:
        del _install_bncourse'''


def install_source(root: Path = ROOT) -> str:
    """La fuente de instalación por defecto: el repositorio y la rama de ``_config.yml``."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repo = (config or {}).get("repository") or {}
    url = str(repo.get("url") or "").strip().rstrip("/")
    if not url.startswith("https://"):
        raise ValueError(
            "_config.yml debe indicar en «repository: url:» la dirección https del repositorio "
            f"(de ella se instala bncourse en Colab); contiene {url!r}."
        )
    branch = str(repo.get("branch") or "main").strip()
    return f"git+{url}@{branch}"


def _imports(source: str) -> set[str]:
    """Módulos que importa el código de una celda (``from bncourse import keras`` cuenta como
    ``bncourse.keras``). Las líneas mágicas de IPython (``%...``, ``!...``) se ignoran."""
    code = "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )
    found: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def chapter_extras(nb) -> list[str]:
    """Extras de bncourse que necesita un cuaderno, según lo que importan sus celdas de código
    (sin contar la de instalación), en el orden de :data:`EXTRAS`."""
    modules: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and not is_bootstrap(cell):
            modules |= _imports(cell.source)
    tops = {m.split(".")[0] for m in modules}
    extras = []
    for extra, mods in EXTRAS.items():
        if tops & set(mods) or f"bncourse.{extra}" in modules or any(
            m.startswith(f"bncourse.{extra}.") for m in modules
        ):
            extras.append(extra)
    return extras


def bootstrap_source(extras: list[str], source: str) -> str:
    """El código de la celda de instalación para ``extras`` y la fuente por defecto ``source``."""
    unknown = [e for e in extras if e not in EXTRAS]
    if unknown:
        raise ValueError(f"extras desconocidos: {unknown}; los posibles son {list(EXTRAS)}")
    if '"' in source or "'" in source or "\n" in source:
        raise ValueError(f"la fuente de instalación no puede contener comillas: {source!r}")
    frameworks = "{" + ", ".join(f'"{e}": {EXTRAS[e]!r}'.replace("'", '"') for e in extras) + "}"
    return TEMPLATE.format(marker=MARKER, default=source, frameworks=frameworks)


def is_bootstrap(cell) -> bool:
    """¿Es ``cell`` la celda de instalación (por su ``id`` o por su primera línea)?"""
    return cell.cell_type == "code" and (
        cell.get("id") == CELL_ID or cell.source.startswith(MARKER)
    )


def expected_cell(nb, source: str | None = None):
    """La celda de instalación que le corresponde a ``nb``: salida vacía, número de ejecución 1
    (para que nbval, estricto, la ejecute y compruebe que no escribe nada) y la etiqueta que la
    oculta en el libro."""
    cell = nbformat.v4.new_code_cell(
        bootstrap_source(chapter_extras(nb), source or install_source()),
        execution_count=1,
        metadata={"tags": [TAG]},
    )
    cell["id"] = CELL_ID
    return cell


def _same(a, b) -> bool:
    keys = ("cell_type", "source", "outputs", "execution_count")
    return all(a.get(k) == b.get(k) for k in keys) and a.get("id") == b.get("id") and (
        a.get("metadata", {}).get("tags") == b.get("metadata", {}).get("tags")
    )


def apply(nb, source: str | None = None) -> bool:
    """Inserta o actualiza la celda de instalación en ``nb`` (en memoria); devuelve si cambió.

    Se inserta justo antes de la primera celda de código (tras el título del capítulo). Al
    insertarla, los números de ejecución de las demás celdas suben en uno, como si el cuaderno
    se hubiera ejecutado entero. Las celdas de instalación de más (o fuera de su sitio) se quitan.
    """
    want = expected_cell(nb, source)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    old = [i for i in code if is_bootstrap(nb.cells[i])]
    if old == code[:1] and _same(nb.cells[old[0]], want):
        return False
    if old:
        for i in reversed(old):
            del nb.cells[i]
    else:
        _shift_counts(nb, +1)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    nb.cells.insert(code[0] if code else len(nb.cells), want)
    return True


def _shift_counts(nb, by: int) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code" and isinstance(cell.get("execution_count"), int):
            cell.execution_count += by
            for out in cell.get("outputs", []):
                if "execution_count" in out and isinstance(out["execution_count"], int):
                    out["execution_count"] += by


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="por defecto, los de _toc.yml")
    parser.add_argument("--check", action="store_true", help="no escribe; 1 si alguno difiere")
    args = parser.parse_args(argv)
    paths = args.notebooks or toc_notebooks()
    source = install_source()
    stale = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if apply(nb, source):
            stale.append(path)
            if not args.check:
                nbformat.validate(nb)
                nbformat.write(nb, path)
        extras = chapter_extras(nb)
        what = f"bncourse[{','.join(extras)}]" if extras else "bncourse"
        state = ("difiere" if args.check else "actualizada") if path in stale else "al día"
        print(f"{path}: {what}, celda de instalación {state}")
    if args.check and stale:
        print(
            f"{len(stale)} cuadernos sin la celda de instalación al día: ejecute "
            "«python tools/colab_cell.py».",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
