"""Mide cuánto tarda cada cuaderno del libro en ejecutarse en un núcleo nuevo (``make bench``).

No modifica los cuadernos: los ejecuta en memoria, como hace nbval, e imprime una tabla con los
segundos de cada uno y el total, junto a los presupuestos de DESIGN.md §4 (3 minutos por capítulo;
15 minutos el libro entero, con el objetivo de 10). Después ejecuta las pruebas de rendimiento
de ``tools/benchmarks``.
"""

from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CHAPTER_BUDGET = 180.0
BOOK_BUDGET = 900.0
BOOK_TARGET = 600.0


def time_notebook(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(paths: list[str]) -> int:
    rows = []
    for name in paths:
        path = Path(name)
        print(f"Ejecutando {path} ...", file=sys.stderr, flush=True)
        rows.append((str(path), time_notebook(path)))
    width = max([len("cuaderno"), *(len(p) for p, _ in rows)])
    print(f"\n{'cuaderno':<{width}}  {'segundos':>9}  presupuesto")
    print(f"{'-' * width}  {'-' * 9}  -----------")
    for path, seconds in rows:
        mark = "ok" if seconds <= CHAPTER_BUDGET else "EXCEDIDO"
        print(f"{path:<{width}}  {seconds:9.1f}  {mark} (≤ {CHAPTER_BUDGET:.0f} s)")
    total = sum(s for _, s in rows)
    mark = "ok" if total <= BOOK_BUDGET else "EXCEDIDO"
    target = "dentro" if total <= BOOK_TARGET else "por encima"
    print(
        f"{'total':<{width}}  {total:9.1f}  {mark} (≤ {BOOK_BUDGET:.0f} s; {target} del objetivo"
        f" de {BOOK_TARGET:.0f} s)"
    )
    failed = []
    for script in sorted((Path(__file__).parent / "benchmarks").glob("bench_*.py")):
        print(f"\n== {script.name}", flush=True)
        # Cada guion termina con sys.exit(main()): sin capturar SystemExit, el primero
        # detendría este proceso y los siguientes no se ejecutarían.
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as stop:
            if stop.code not in (None, 0):
                failed.append(script.name)
    if failed:
        print(f"\nPruebas de rendimiento que terminaron con error: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
