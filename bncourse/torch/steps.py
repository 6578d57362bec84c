"""Entrenamiento por **pasos** (no por épocas) sobre tensores en memoria, con evaluación periódica.

:func:`train_steps` muestrea minilotes directamente de tensores y evalúa cada ``eval_every``
pasos; devuelve una fila (diccionario) por evaluación, el formato que espera
:func:`bncourse.sweep.run_sweep`. Es el bucle de los experimentos del capítulo de ventajas.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._checks import check_bool, check_int, describe
from .probes import UnitProbe
from .training import (
    as_tensors,
    check_model,
    enter_training,
    evaluate,
    make_optimizer,
    modes_restored,
)

__all__ = ["train_steps"]


def train_steps(
    model: nn.Module,
    train: Any,
    test: Any,
    *,
    steps: int,
    batch_size: int = 60,
    lr: float = 0.1,
    optimizer: str = "sgd",
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    eval_every: int = 100,
    seed: int = 0,
    train_metrics: bool = False,
    probe: UnitProbe | None = None,
    measure: Callable[[nn.Module], dict[str, float]] | None = None,
    stop_on_divergence: bool = True,
) -> list[dict[str, float]]:
    """Entrena ``model`` ``steps`` pasos de descenso por gradiente y evalúa periódicamente.

    Cada paso toma un minilote de ``batch_size`` ejemplos de ``train``: el orden es una
    permutación nueva en cada época, fijada por ``seed``. Se evalúa antes de empezar (paso 0),
    cada ``eval_every`` pasos y al final, siempre en modo de inferencia.

    Parámetros
    ----------
    model:
        La red (en la CPU o en el dispositivo de los tensores).
    train, test:
        ``TensorDataset`` o tuplas ``(x, y)`` de tensores.
    steps, batch_size, eval_every:
        Pasos de entrenamiento, tamaño del minilote y cada cuántos pasos se evalúa.
    lr, optimizer, momentum, weight_decay:
        Optimizador (``"sgd"`` o ``"adam"``, véase :func:`bncourse.torch.make_optimizer`);
        ``momentum`` solo afecta a SGD (0 por defecto: SGD puro, como en el artículo de BN).
    seed:
        Semilla del orden de los minilotes (la inicialización y el *dropout* dependen de la
        semilla global: llame antes a :func:`bncourse.seed_everything`).
    train_metrics:
        Si es ``True``, evalúa también sobre todo ``train`` en modo de inferencia (columnas
        ``train_eval_loss`` y ``train_accuracy``), lo necesario para medir la brecha entre
        entrenamiento y prueba.
    probe:
        Una :class:`UnitProbe` opcional: en cada evaluación se registran los percentiles 15, 50
        y 85 de la entrada observada sobre los ejemplos de ``test`` en modo de inferencia (columnas
        ``p15``, ``p50``, ``p85``) y sobre el minilote del último paso de entrenamiento, en modo
        entrenamiento, tal como la vio la red al aprender (``train_p15``, ``train_p50``,
        ``train_p85``; no existen en el paso 0).
    measure:
        Función opcional ``measure(model) -> dict`` cuyas claves se añaden a cada fila de
        evaluación (p. ej., una medición de :func:`gradient_landscape`).
    stop_on_divergence:
        Si la pérdida deja de ser finita, se registra una última fila y se detiene.

    Devuelve
    --------
    Lista de filas con ``step``, ``train_loss`` (media de la pérdida de los minilotes desde la
    evaluación anterior; NaN en el paso 0), ``test_loss``, ``test_accuracy`` (fracción),
    ``diverged`` y las columnas opcionales.
    """
    model = check_model(model)
    x_train, y_train = as_tensors(train, "train")
    test = as_tensors(test, "test")
    steps = check_int(steps, "steps", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=len(x_train))
    eval_every = check_int(eval_every, "eval_every", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    train_metrics = check_bool(train_metrics, "train_metrics")
    stop_on_divergence = check_bool(stop_on_divergence, "stop_on_divergence")
    if probe is not None and not isinstance(probe, UnitProbe):
        raise TypeError(f"«probe» debe ser una UnitProbe; se recibió {describe(probe)}.")
    if measure is not None and not callable(measure):
        raise TypeError(f"«measure» debe ser una función; se recibió {describe(measure)}.")
    opt = make_optimizer(model, optimizer, lr=lr, momentum=momentum, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    rows: list[dict[str, float]] = []

    def record(step: int, train_loss: float, diverged: bool, train_probe: dict[str, float]) -> None:
        row: dict[str, float] = {"step": step, "train_loss": train_loss}
        if probe is not None:
            with probe:
                row["test_loss"], row["test_accuracy"] = evaluate(model, test)
            row.update(probe.percentiles())
        else:
            row["test_loss"], row["test_accuracy"] = evaluate(model, test)
        if train_metrics:
            row["train_eval_loss"], row["train_accuracy"] = evaluate(model, (x_train, y_train))
        if measure is not None:
            with modes_restored(model):  # aunque «measure» cambie los modos, se recuperan
                extra = measure(model)
            if not isinstance(extra, dict):
                raise TypeError(
                    f"«measure» debe devolver un diccionario; devolvió {describe(extra)}."
                )
            row.update(extra)
        row.update(train_probe)
        row["diverged"] = diverged
        rows.append(row)

    enter_training(model)
    record(0, math.nan, False, {})
    order = torch.randperm(len(x_train), generator=generator)
    cursor, loss_sum, loss_count = 0, 0.0, 0
    for step in range(1, steps + 1):
        if cursor + batch_size > len(order):
            order = torch.randperm(len(x_train), generator=generator)
            cursor = 0
        idx = order[cursor : cursor + batch_size]
        cursor += batch_size
        evaluating = step % eval_every == 0 or step == steps
        train_probe: dict[str, float] = {}
        if probe is not None and evaluating:
            with probe:
                logits = model(x_train[idx])
            train_probe = {f"train_{k}": v for k, v in probe.percentiles().items()}
        else:
            logits = model(x_train[idx])
        loss = nn.functional.cross_entropy(logits, y_train[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = float(loss.detach())
        loss_sum += value
        loss_count += 1
        diverged = not math.isfinite(value)
        if diverged and stop_on_divergence:
            record(step, math.nan, True, train_probe)
            break
        if evaluating:
            record(step, loss_sum / loss_count, diverged, train_probe)
            loss_sum, loss_count = 0.0, 0
    return rows
