"""Vuelve a ejecutar cuadernos en un núcleo nuevo y guarda sus salidas en el mismo archivo.

Así se actualizan las salidas que guarda el libro (``make execute``; ``make execute
NB=book/02_teoria.ipynb`` para uno solo). Cada cuaderno se ejecuta desde su carpeta, con el
intérprete del entorno actual, y se guarda solo si termina sin errores.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TIMEOUT = 600


def execute(path: Path) -> float:
    """Ejecuta ``path`` en su sitio y devuelve los segundos que tardó."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return seconds


def main(paths: list[str]) -> int:
    if not paths:
        print("Uso: python tools/execute_notebooks.py CUADERNO.ipynb [...]", file=sys.stderr)
        return 2
    for name in paths:
        path = Path(name)
        print(f"Ejecutando {path} ...", flush=True)
        print(f"  {execute(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
