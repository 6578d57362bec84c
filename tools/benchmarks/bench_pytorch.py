"""Tiempo hasta el 58.37 % de exactitud de prueba: la receta del capítulo de PyTorch frente a la
receta original (``make bench``; nunca es una prueba cronometrada).

Las dos recetas entrenan la misma red convolucional sobre CIFAR-10, en el mismo proceso y con
los mismos datos (los de ``bncourse.load_cifar10()``), hasta que su exactitud sobre las 10 000
imágenes de prueba alcanza por primera vez el 58.37 % que publicó la receta original.

- **Original**: la nota tal cual, con las erratas de transcripción corregidas: transformaciones
  de ``torchvision`` (``ToTensor`` y ``Normalize``) imagen a imagen dentro de un ``DataLoader``
  con ``batch_size=4``, ``shuffle=True`` y ``num_workers=2``; Adam con tasa 0.001 constante.
- **Capítulo**: la receta de ``book/04_pytorch.ipynb``: imágenes convertidas a tensores una sola
  vez, un subconjunto estratificado de 25 000 imágenes de entrenamiento recorrido una vez en
  minilotes de 64, Adam fusionado con tasa inicial 0.003 que baja en línea recta hasta 0 a lo
  largo de esa época, la red de ``bncourse.torch.RecipeCNN`` (ReLU tras el *max pooling*, que da
  el mismo resultado con menos cálculo) y la red y cada minilote en formato de memoria «canales
  al final».

Las dos se evalúan con la misma función (``bncourse.torch.evaluate``: modo de inferencia, sin
gradientes) cada 2500 imágenes de entrenamiento vistas. El reloj se detiene mientras se
evalúa: cuenta la preparación de los datos y el entrenamiento, no las mediciones.

Uso::

    python tools/benchmarks/bench_pytorch.py            # la medición real (varios minutos)
    python tools/benchmarks/bench_pytorch.py --quick    # comprobación rápida con subconjuntos
    BNCOURSE_BENCH_QUICK=1 python tools/benchmarks/bench_pytorch.py

``BNCOURSE_BENCH_THREADS=N`` fija el número de hilos de PyTorch del proceso principal (por
defecto, el de PyTorch: uno por núcleo). En una máquina compartida, los hilos de OpenMP que
esperan activamente pueden hundir el rendimiento de las dos recetas; la salida informa de la
carga del sistema, de los hilos y de ``OMP_WAIT_POLICY`` para poder interpretar las cifras.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import bncourse
from bncourse.torch import (
    ImageArrayDataset,
    RecipeCNN,
    evaluate,
    make_loader,
    make_scheduler,
    recipe_transform,
    to_image_tensor,
)

QUICK = "--quick" in sys.argv or os.environ.get("BNCOURSE_BENCH_QUICK", "") not in ("", "0")
TARGET = 0.35 if QUICK else 0.5837
EVAL_EVERY = 500 if QUICK else 2500  # imágenes de entrenamiento entre dos evaluaciones
TRAIN_SIZE = 5000 if QUICK else None  # None: las 50 000 imágenes de entrenamiento
TEST_SIZE = 2000 if QUICK else None  # None: las 10 000 imágenes de prueba
CHAPTER_FRACTION = 0.5  # 25 000 de 50 000
MAX_EPOCHS_ORIGINAL = 6 if QUICK else 5
NORMALIZE = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))  # para recipe_original
from recipe_original import RecipeNet  # noqa: E402  (la red de la receta, tal cual)


class Clock:
    """Cronómetro que se puede pausar (las evaluaciones no cuentan)."""

    def __init__(self):
        self.total = 0.0
        self._start = time.perf_counter()

    def pause(self):
        self.total += time.perf_counter() - self._start

    def resume(self):
        self._start = time.perf_counter()


class Tracker:
    """Evalúa cada ``EVAL_EVERY`` imágenes y recuerda cuándo se alcanza el objetivo."""

    def __init__(self, name, test_loader, clock):
        self.name, self.test_loader, self.clock = name, test_loader, clock
        self.seen, self.next_eval = 0, EVAL_EVERY
        self.curve = []
        self.reached_at = None  # (imágenes, segundos, exactitud)

    def step(self, model, batch_size) -> bool:
        """Cuenta un minilote; devuelve True cuando se alcanza el objetivo."""
        self.seen += batch_size
        if self.seen < self.next_eval:
            return False
        self.next_eval += EVAL_EVERY
        self.clock.pause()
        _, accuracy = evaluate(model, self.test_loader)
        self.curve.append((self.seen, accuracy))
        print(
            f"  {self.name}: {self.seen:>6} imágenes, exactitud de prueba {100 * accuracy:5.2f} %,"
            f" {self.clock.total:7.1f} s",
            flush=True,
        )
        if accuracy >= TARGET:
            self.reached_at = (self.seen, self.clock.total, accuracy)
            return True
        self.clock.resume()
        return False


def run_original(x_train, y_train, test_loader):
    torch.manual_seed(0)
    clock = Clock()
    trainset = ImageArrayDataset(x_train, y_train, recipe_transform(*NORMALIZE))
    trainloader = DataLoader(
        trainset,
        batch_size=4,
        shuffle=True,
        num_workers=2,
        generator=torch.Generator().manual_seed(0),
    )
    net = RecipeNet()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.001)
    tracker = Tracker("original", test_loader, clock)
    for _epoch in range(MAX_EPOCHS_ORIGINAL):
        net.train()
        running_loss = 0.0
        for inputs, labels in trainloader:
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if tracker.step(net, len(labels)):
                return tracker
    clock.pause()
    return tracker


def run_chapter(x_train, y_train, test_loader):
    torch.manual_seed(0)
    clock = Clock()
    size = int(round(CHAPTER_FRACTION * len(y_train)))
    idx = bncourse.stratified_indices(y_train, size, seed=0)
    train = TensorDataset(
        to_image_tensor(x_train[idx], *NORMALIZE), torch.from_numpy(y_train[idx].astype(np.int64))
    )
    loader = make_loader(train, 64, shuffle=True, seed=0)
    model = RecipeCNN("batch").to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003, fused=True)
    scheduler = make_scheduler(optimizer, "linear", len(loader))
    loss_fn = nn.CrossEntropyLoss()
    tracker = Tracker("capítulo", test_loader, clock)
    model.train()
    for x, y in loader:
        loss = loss_fn(model(x.contiguous(memory_format=torch.channels_last)), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if tracker.step(model, len(y)):
            return tracker
    clock.pause()
    return tracker


def warm_up() -> None:
    """Paga antes de los cronómetros los costes que un proceso paga una sola vez.

    La primera vez que un proceso crea un optimizador de ``torch.optim`` importa módulos
    internos de PyTorch (más de un segundo en esta máquina). Ese coste lo pagaría la receta que
    se mida primero, no la receta en sí, así que se paga aquí, fuera de las dos mediciones.
    """
    torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=0.001)


def main() -> int:
    threads = os.environ.get("BNCOURSE_BENCH_THREADS", "")
    if threads:
        torch.set_num_threads(int(threads))
    warm_up()
    (x_train, y_train), (x_test, y_test) = bncourse.load_cifar10()
    if TRAIN_SIZE is not None:
        x_train, y_train = bncourse.stratified_subset(x_train, y_train, TRAIN_SIZE, seed=0)
    if TEST_SIZE is not None:
        x_test, y_test = bncourse.stratified_subset(x_test, y_test, TEST_SIZE, seed=0)
    test = TensorDataset(
        to_image_tensor(x_test, *NORMALIZE), torch.from_numpy(y_test.astype(np.int64))
    )
    test_loader = make_loader(test, 100)
    mode = "RÁPIDO (subconjuntos; no es la medición)" if QUICK else "medición real"
    print(
        f"Modo: {mode}. Objetivo: {100 * TARGET:.2f} % sobre {len(y_test)} imágenes de prueba;"
        f" evaluación cada {EVAL_EVERY} imágenes. Hilos de PyTorch: {torch.get_num_threads()}"
        f" (OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'sin fijar')}); núcleos:"
        f" {os.cpu_count()}; carga media del sistema al empezar: {os.getloadavg()[0]:.2f}.",
        flush=True,
    )
    chapter = run_chapter(x_train, y_train, test_loader)
    original = run_original(x_train, y_train, test_loader)
    print(f"Carga media del sistema al terminar: {os.getloadavg()[0]:.2f}.")

    print(f"\n{'receta':<22} {'imágenes':>9} {'exactitud':>10} {'segundos':>9}")
    times = {}
    for name, tracker in (("original (lote 4)", original), ("capítulo (lote 64)", chapter)):
        if tracker.reached_at is None:
            best = max((a for _, a in tracker.curve), default=float("nan"))
            print(f"{name:<22} {'no llegó':>9} {100 * best:9.2f}% {tracker.clock.total:9.1f}")
            times[name] = math.inf
        else:
            seen, seconds, accuracy = tracker.reached_at
            print(f"{name:<22} {seen:>9} {100 * accuracy:9.2f}% {seconds:9.1f}")
            times[name] = seconds
    original_s, chapter_s = times["original (lote 4)"], times["capítulo (lote 64)"]
    if math.isfinite(original_s) and math.isfinite(chapter_s):
        ratio = original_s / chapter_s
        verdict = "objetivo de 10× alcanzado" if ratio >= 10 else "por debajo del objetivo de 10×"
        print(f"Razón de tiempos (original / capítulo): {ratio:.1f}× ({verdict}).")
    else:
        print("Alguna receta no alcanzó el objetivo: no hay razón de tiempos.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
