"""Coste de sincronizar BN entre réplicas: tiempo por paso de entrenamiento con DDP (``make bench``).

Es la medición que cita el capítulo ``book/08_distribuido.ipynb`` (sección «El coste de
sincronizar»); el cuaderno no comprueba tiempos con ``assert`` (DESIGN §4). Con 2 procesos de
un hilo (gloo, 127.0.0.1), la ``RecipeCNN`` del capítulo (MNIST, 28 × 28) entrena una época con
minilotes de 32 imágenes por proceso, con BN por dispositivo (``nn.BatchNorm*d``) y con
``CrossReplicaBatchNorm`` (``cross_replica=True``), alternando las dos en el mismo lanzamiento
para que sufran por igual la carga de la máquina; de cada una se toma el mejor tiempo. Las
imágenes son aleatorias: el coste no depende de los valores.

Uso::

    python tools/benchmarks/bench_distributed.py            # la medición (unos 60 s)
    python tools/benchmarks/bench_distributed.py --quick    # comprobación rápida
"""

from __future__ import annotations

import os
import sys

import torch

from bncourse.torch import RecipeCNN, call_all, ddp_train, launch

QUICK = "--quick" in sys.argv or os.environ.get("BNCOURSE_BENCH_QUICK", "") not in ("", "0")
REPEATS = 1 if QUICK else 3
STEPS = 10 if QUICK else 40
PER_DEVICE = 32


def main() -> None:
    generator = torch.Generator().manual_seed(1)
    n = 2 * PER_DEVICE * STEPS
    x = torch.randn(n, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (n,), generator=generator)
    test = (x[:64], y[:64])
    model = RecipeCNN("batch", in_channels=1, image_size=28)
    calls = []
    for _ in range(REPEATS):
        for cross in (False, True):
            kwargs = {"epochs": 1, "batch_size": PER_DEVICE, "cross_replica": cross}
            calls.append((ddp_train, (model, (x, y), test), kwargs))
    runs = launch(call_all, 2, args=(calls,), timeout=600)[0]
    best = {False: float("inf"), True: float("inf")}
    for (_, _, kwargs), run in zip(calls, runs, strict=True):
        # Tiempo de los pasos de entrenamiento del rango 0, sin la evaluación de la época.
        best[kwargs["cross_replica"]] = min(best[kwargs["cross_replica"]], run.seconds_per_step)
    print(f"DDP, 2 procesos, {STEPS} pasos de {PER_DEVICE} imágenes por proceso (mejor de {REPEATS}):")
    print(f"  BN por dispositivo:  {1000 * best[False]:7.1f} ms por paso")
    print(f"  BN entre réplicas:   {1000 * best[True]:7.1f} ms por paso")
    print(f"  cociente:            {best[True] / best[False]:7.2f}")


if __name__ == "__main__":
    main()
