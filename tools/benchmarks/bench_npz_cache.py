"""Lectura de cifar10.npz comprimido frente a sin comprimir (la caché que escriben los cargadores).

Lee los cuatro arreglos con ``np.load(..., allow_pickle=False)``, como :mod:`bncourse.data`,
``REPEATS`` veces de cada forma, alternándolas, e imprime la mediana. La copia sin comprimir se
escribe en una carpeta temporal y se borra al terminar. Uso::

    BNCOURSE_DATA_DIR=../shared/data .venv/bin/python tools/benchmarks/bench_npz_cache.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import bncourse

REPEATS = 7
KEYS = ("x_train", "y_train", "x_test", "y_test")


def read(path: Path) -> float:
    start = time.perf_counter()
    with np.load(path, allow_pickle=False) as npz:
        for key in KEYS:
            npz[key]
    return time.perf_counter() - start


def main() -> None:
    compressed = bncourse.default_data_dir() / "cifar10.npz"
    if not compressed.is_file():
        print(f"No está {compressed}: nada que medir (defina BNCOURSE_DATA_DIR).")
        return
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "cifar10.npz"
        with np.load(compressed, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in KEYS}
        with np.load(compressed, allow_pickle=False) as npz:
            stored = {info.compress_type for info in npz.zip.infolist()}
        if stored == {0}:
            print(f"{compressed} ya está sin comprimir: nada que comparar.")
            return
        np.savez(plain, **arrays)
        times: dict[str, list[float]] = {"comprimido": [], "sin comprimir": []}
        for _ in range(REPEATS):
            times["comprimido"].append(read(compressed))
            times["sin comprimir"].append(read(plain))
        sizes = {"comprimido": compressed.stat().st_size, "sin comprimir": plain.stat().st_size}
    print(f"cifar10.npz, mediana de {REPEATS} lecturas:")
    for name, values in times.items():
        print(f"  {name:<14} {statistics.median(values):6.3f} s   {sizes[name] / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
