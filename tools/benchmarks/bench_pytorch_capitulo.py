"""Las dos mediciones de tiempo que cita el capítulo de PyTorch (``make bench``; nunca es una
prueba cronometrada).

El cuaderno ``book/04_pytorch.ipynb`` imprime sus tiempos, pero no comprueba ninguna razón de
tiempos: en una máquina cargada, con un solo hilo o con los núcleos genéricos de PyTorch, una
razón de tiempos no es una afirmación que un cuaderno pueda garantizar. Este guion las mide:

1. **Conversión de las imágenes**: las 2000 primeras imágenes de entrenamiento de CIFAR-10,
   convertidas imagen a imagen con las transformaciones de ``torchvision`` de la receta
   (``ToTensor`` y ``Normalize``) frente a la conversión de todo el arreglo de una vez con
   ``bncourse.torch.to_image_tensor`` (el resultado es idéntico; el cuaderno lo comprueba).
2. **Minilotes de 4 frente a minilotes de 64**: una época sobre un subconjunto estratificado de
   4000 imágenes de entrenamiento con la red del capítulo (``bncourse.torch.RecipeCNN("batch")``
   en formato «canales al final»), Adam fusionado con tasa 0.001 que baja en línea recta hasta 0
   a lo largo de la época, como en la sección
   «Minilotes de 4 frente a minilotes de 64» del capítulo. Solo cuenta el entrenamiento.

Cada medición se repite ``REPEATS`` veces y se informa de la mejor (la menos perturbada por
otros procesos de la máquina).

Uso::

    python tools/benchmarks/bench_pytorch_capitulo.py            # la medición (menos de un minuto)
    python tools/benchmarks/bench_pytorch_capitulo.py --quick    # comprobación rápida
    BNCOURSE_BENCH_QUICK=1 python tools/benchmarks/bench_pytorch_capitulo.py

``BNCOURSE_BENCH_THREADS=N`` fija el número de hilos de PyTorch, como en ``bench_pytorch.py``.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

import bncourse
from bncourse.torch import (
    RecipeCNN,
    make_loader,
    make_scheduler,
    recipe_transform,
    to_image_tensor,
)

QUICK = "--quick" in sys.argv or os.environ.get("BNCOURSE_BENCH_QUICK", "") not in ("", "0")
CONVERT_SIZE = 500 if QUICK else 2000
TRAIN_SIZE = 1000 if QUICK else 4000
REPEATS = 1 if QUICK else 3
NORMALIZE = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def best_of(function, repeats: int = REPEATS) -> float:
    """El menor de ``repeats`` tiempos de ``function()``, en segundos."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def conversion(x: np.ndarray) -> tuple[float, float]:
    transform = recipe_transform(*NORMALIZE)
    one_by_one = torch.stack([transform(image) for image in x])
    all_at_once = to_image_tensor(x, *NORMALIZE)
    if not torch.equal(one_by_one, all_at_once):  # no debería ocurrir nunca
        raise RuntimeError("La conversión imagen a imagen y la de todo el arreglo difieren.")
    t_one = best_of(lambda: torch.stack([transform(image) for image in x]))
    t_all = best_of(lambda: to_image_tensor(x, *NORMALIZE))
    return t_one, t_all


def one_epoch(train: TensorDataset, batch_size: int) -> float:
    """Segundos de una época de entrenamiento (sin evaluación) con minilotes de ``batch_size``."""
    torch.manual_seed(0)
    model = RecipeCNN("batch").to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    loss_fn = nn.CrossEntropyLoss()
    loader = make_loader(train, batch_size, shuffle=True, seed=0)
    scheduler = make_scheduler(optimizer, "linear", len(loader))
    model.train()
    start = time.perf_counter()
    for x, y in loader:
        loss = loss_fn(model(x.contiguous(memory_format=torch.channels_last)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    return time.perf_counter() - start


def main() -> int:
    threads = os.environ.get("BNCOURSE_BENCH_THREADS", "")
    if threads:
        torch.set_num_threads(int(threads))
    torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=0.001)  # importaciones de una sola vez
    (x_train, y_train), _ = bncourse.load_cifar10()
    mode = "RÁPIDO (subconjuntos; no es la medición)" if QUICK else "medición real"
    print(
        f"Modo: {mode}. {'Una repetición' if REPEATS == 1 else f'La mejor de {REPEATS} repeticiones'}."
        f" Hilos de PyTorch:"
        f" {torch.get_num_threads()}; núcleos: {os.cpu_count()}; carga media del sistema al"
        f" empezar: {os.getloadavg()[0]:.2f}.",
        flush=True,
    )

    t_one, t_all = conversion(x_train[:CONVERT_SIZE])
    print(
        f"\nConversión de {CONVERT_SIZE} imágenes: imagen a imagen {t_one:.3f} s, todo el"
        f" arreglo {t_all:.3f} s; razón {t_one / t_all:.1f}×.",
        flush=True,
    )

    idx = bncourse.stratified_indices(y_train, TRAIN_SIZE, seed=0)
    train = TensorDataset(
        to_image_tensor(x_train[idx], *NORMALIZE), torch.from_numpy(y_train[idx].astype(np.int64))
    )
    seconds = {}
    print(f"\nUna época sobre {TRAIN_SIZE} imágenes (Adam, tasa 0.001 decreciente):")
    for batch_size in (4, 64):
        seconds[batch_size] = best_of(lambda b=batch_size: one_epoch(train, b))
        print(
            f"  minilotes de {batch_size:>2}: {seconds[batch_size]:6.2f} s"
            f" ({TRAIN_SIZE / seconds[batch_size]:.0f} imágenes/s)",
            flush=True,
        )
    print(f"Razón de tiempos (minilotes de 4 / minilotes de 64): {seconds[4] / seconds[64]:.1f}×.")
    print(f"Carga media del sistema al terminar: {os.getloadavg()[0]:.2f}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
