"""Ejecuta cada capítulo con varias semillas (``make seeds``) sin comparar sus salidas.

Para cada semilla de ``--seeds`` y cada cuaderno, abre un núcleo nuevo con
``BNCOURSE_SEED=<semilla>`` y ejecuta el cuaderno de principio a fin en memoria (no lo
modifica). Falla (código 1) si alguna celda lanza una excepción, por ejemplo una aserción que
no se cumple con esa semilla, y dice qué cuaderno, qué semilla y qué celda. Las cifras que los
capítulos anotan con ``bncourse.record_figure`` quedan en ``_build/seeds`` y, al final, se
imprime su resumen (``tools/seed_table.py``).

Uso: ``python tools/run_seeds.py --seeds "1 2" book/01_datos.ipynb [...]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
import seed_table
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600


def run_notebook(path: Path, seed: int) -> float:
    """Ejecuta ``path`` con ``BNCOURSE_SEED=seed`` y devuelve los segundos que tardó."""
    nb = nbformat.read(path, as_version=4)
    os.environ["BNCOURSE_SEED"] = str(seed)
    client = NotebookClient(
        nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def parse_seeds(text: str) -> list[int]:
    seeds = []
    for word in text.replace(",", " ").split():
        if not word.isdigit():
            raise SystemExit(f"SEEDS debe ser una lista de enteros no negativos; contiene {word!r}.")
        seeds.append(int(word))
    if not seeds:
        raise SystemExit("SEEDS está vacía: indique al menos una semilla, p. ej. SEEDS=\"1 2\".")
    return seeds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0 1 2")
    parser.add_argument("--figures", default=str(ROOT / "_build" / "seeds"))
    parser.add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    os.environ["BNCOURSE_FIGURES_DIR"] = str(Path(args.figures).resolve())
    failures = []
    for seed in seeds:
        for name in args.notebooks:
            path = Path(name)
            print(f"Semilla {seed}: {path} ...", flush=True)
            try:
                seconds = run_notebook(path, seed)
            except CellExecutionError as error:
                failures.append((seed, path, str(error)))
                print(f"  FALLA con la semilla {seed}:\n{error}", flush=True)
                continue
            except (DeadKernelError, CellTimeoutError, RuntimeError) as error:
                # Un núcleo que muere (por ejemplo, por falta de memoria) o una celda que pasa
                # del tiempo límite es un fallo más de esa ejecución, no de esta herramienta.
                what = "el núcleo murió" if isinstance(error, DeadKernelError) else str(error)
                failures.append((seed, path, what))
                print(f"  FALLA con la semilla {seed}: {type(error).__name__}: {what}", flush=True)
                continue
            print(f"  {seconds:.1f} s", flush=True)
    print()
    print(seed_table.render(seed_table.collect(Path(args.figures))))
    seed_table.write(Path(args.figures))
    if failures:
        print(f"\n{len(failures)} ejecuciones fallaron:")
        for seed, path, _ in failures:
            print(f"  {path} con la semilla {seed}")
        return 1
    print(f"\n{len(seeds) * len(args.notebooks)} ejecuciones sin errores (semillas {seeds}).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
