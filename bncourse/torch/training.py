"""Entrenamiento y evaluación con PyTorch que devuelven el historial común del curso.

:func:`fit` entrena época a época y evalúa tras cada una en modo de inferencia (``model.eval()``)
y sin gradientes; :func:`evaluate` restaura después el modo que tenía cada submódulo. Es justo
lo que olvida la receta clásica de CIFAR-10, que mide la exactitud con el modelo en modo
entrenamiento. :func:`evaluate` acepta un ``DataLoader`` o tensores ya en memoria, así que sirve
también al entrenamiento por pasos de :mod:`bncourse.torch.steps`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .._checks import check_bool, check_choice, check_float, check_int, describe
from ..history import History

__all__ = [
    "LR_SCHEDULES",
    "default_device",
    "evaluate",
    "fit",
    "make_optimizer",
    "make_scheduler",
    "train_epoch",
]

Tensors = tuple[torch.Tensor, torch.Tensor]
"""Un conjunto en memoria como tupla ``(x, y)`` de tensores."""

LR_SCHEDULES = ("constant", "linear")
"""Evoluciones de la tasa de aprendizaje que acepta :func:`fit`."""


def default_device() -> torch.device:
    """``cuda`` si hay una GPU disponible; si no, ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def check_model(model: object) -> nn.Module:
    """Devuelve ``model`` si es un ``torch.nn.Module``; si no, un ``TypeError`` en español."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"«model» debe ser un torch.nn.Module; se recibió {describe(model)}.")
    return model


def _check_loader(loader: object, name: str) -> DataLoader:
    if not isinstance(loader, DataLoader):
        raise TypeError(
            f"«{name}» debe ser un torch.utils.data.DataLoader; se recibió {describe(loader)}."
        )
    return loader


def _resolve_device(device: str | torch.device | None, model: nn.Module) -> torch.device:
    if device is None:
        try:
            return next(model.parameters()).device
        except StopIteration:
            return torch.device("cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"«device» no es un dispositivo válido de PyTorch: {device!r}.") from exc


def as_tensors(data: Any, name: str) -> Tensors:
    """Acepta un ``TensorDataset`` de dos tensores o una tupla ``(x, y)``."""
    if isinstance(data, TensorDataset):
        tensors = data.tensors
    elif isinstance(data, tuple | list):
        tensors = tuple(data)
    else:
        raise TypeError(
            f"«{name}» debe ser un TensorDataset o una tupla (x, y) de tensores; se recibió "
            f"{describe(data)}."
        )
    if len(tensors) != 2 or not all(isinstance(t, torch.Tensor) for t in tensors):
        raise TypeError(f"«{name}» debe contener exactamente dos tensores (x, y).")
    x, y = tensors
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(
            f"«{name}» debe tener tantas etiquetas como ejemplos (y al menos uno); tiene {len(x)} "
            f"ejemplos y {len(y)} etiquetas."
        )
    if y.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"Las etiquetas de «{name}» deben ser enteras; son de tipo {y.dtype}.")
    return x, y.long()


def _check_labels(y: torch.Tensor, num_classes: int) -> None:
    if y.dtype not in (torch.int64, torch.int32, torch.uint8):
        raise TypeError(f"Las etiquetas deben ser enteras; son de tipo {y.dtype}.")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(
            f"Las etiquetas deben estar entre 0 y {num_classes - 1}; se encontraron valores entre "
            f"{int(y.min())} y {int(y.max())}."
        )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader | TensorDataset | Tensors,
    *,
    device: str | torch.device | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    chunk: int = 5000,
) -> tuple[float, float]:
    """Pérdida media y exactitud (fracción) de ``model`` sobre ``loader``, en modo de inferencia.

    Pone el modelo en ``eval()`` (BN usa sus estadísticas de población y *dropout* se desactiva),
    calcula sin gradientes y, al terminar, devuelve cada submódulo al modo que tenía (también
    las capas congeladas con ``eval()`` dentro de un modelo en modo de entrenamiento).

    ``loader`` es un ``DataLoader`` o, para datos ya en memoria, un ``TensorDataset`` o una
    tupla ``(x, y)`` de tensores, que se recorre en trozos de ``chunk`` ejemplos. La pérdida por
    defecto es la entropía cruzada.
    """
    model = check_model(model)
    chunk = check_int(chunk, "chunk", minimum=1)
    batches: Any
    if isinstance(loader, DataLoader):
        batches = loader
    elif isinstance(loader, TensorDataset | tuple):
        x_all, y_all = as_tensors(loader, "loader")
        batches = (
            (x_all[i : i + chunk], y_all[i : i + chunk]) for i in range(0, len(x_all), chunk)
        )
    else:
        raise TypeError(
            "«loader» debe ser un torch.utils.data.DataLoader, un TensorDataset o una tupla "
            f"(x, y) de tensores; se recibió {describe(loader)}."
        )
    device = _resolve_device(device, model)
    loss_fn = loss_fn or nn.CrossEntropyLoss(reduction="sum")
    with modes_restored(model):
        model.eval()
        total_loss, correct, count = 0.0, 0, 0
        for x, labels in batches:
            x, y = x.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            logits = model(x)
            _check_labels(labels, logits.shape[1])
            loss = loss_fn(logits, y)
            # Con reducción «sum» (la de por defecto aquí) la pérdida ya es la suma del minilote.
            total_loss += float(loss) if _is_sum(loss_fn) else float(loss) * len(y)
            correct += int((logits.argmax(dim=1) == y).sum())
            count += len(y)
    if count == 0:
        raise ValueError("«loader» no contiene ningún ejemplo.")
    return total_loss / count, correct / count


def _is_sum(loss_fn: object) -> bool:
    return getattr(loss_fn, "reduction", "mean") == "sum"


@contextmanager
def modes_restored(model: nn.Module) -> Iterator[nn.Module]:
    """Bloque ``with`` tras el que cada submódulo de ``model`` vuelve a su modo (``training``).

    ``model.train(was_training)`` no basta: pondría todos los submódulos en el mismo modo y
    descongelaría una BN que el usuario pasó a ``eval()``.
    """
    modes = [(m, m.training) for m in model.modules()]
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode


@contextmanager
def state_restored(model: nn.Module) -> Iterator[nn.Module]:
    """Bloque ``with`` tras el que ``model`` queda exactamente como estaba: pesos y búferes
    (``state_dict``), el ``.grad`` de cada parámetro entrenable y el modo de cada submódulo.

    Para medir algo dando pasos de prueba sobre el modelo sin cambiarlo.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    saved_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    saved_grads = [None if p.grad is None else p.grad.detach().clone() for p in params]
    with modes_restored(model):
        try:
            yield model
        finally:
            model.load_state_dict(saved_state)
            for p, grad in zip(params, saved_grads, strict=True):
                p.grad = grad


def enter_training(model: nn.Module) -> None:
    """Pone ``model`` en modo de entrenamiento sin deshacer las capas congeladas con ``eval()``.

    Si ``model`` está en modo de inferencia, ``model.train()`` lo pone entero en modo de
    entrenamiento. Si ya está en modo de entrenamiento, no se toca: los submódulos que el usuario
    haya pasado a ``eval()`` (p. ej., las BN congeladas de un ajuste fino) siguen así.
    """
    if not model.training:
        model.train()


def train_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    *,
    device: str | torch.device | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> tuple[float, float]:
    """Una época de entrenamiento en modo de entrenamiento.

    Devuelve la pérdida media por ejemplo y la exactitud **acumuladas durante la época** (cada
    minilote medido con los pesos de ese momento y las estadísticas de su propio minilote), la
    forma habitual y barata de seguir el entrenamiento. Si se da ``scheduler``, avanza un paso
    tras cada paso del optimizador (una evolución de la tasa por minilote, no por época).

    Modos: si ``model`` está en modo de inferencia (``model.eval()``), se pone entero en modo
    de entrenamiento. Si ya está en modo de entrenamiento, se respeta el modo de cada submódulo:
    una capa BN congelada con ``bn.eval()`` (el ajuste fino que enseña el curso) sigue
    normalizando con sus estadísticas de población y no las actualiza.

    ``loss_fn`` puede reducir con la media (por defecto) o con la suma (``reduction="sum"``);
    en los dos casos la pérdida devuelta es la media por ejemplo.
    """
    model = check_model(model)
    loader = _check_loader(loader, "loader")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"«optimizer» debe ser un torch.optim.Optimizer; se recibió {describe(optimizer)}."
        )
    if scheduler is not None and not isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler):
        raise TypeError(
            "«scheduler» debe ser un torch.optim.lr_scheduler.LRScheduler o None; se recibió "
            f"{describe(scheduler)}."
        )
    device = _resolve_device(device, model)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    enter_training(model)
    summed = _is_sum(loss_fn)
    # Los acumuladores viven en el dispositivo: en GPU, no se sincroniza en cada minilote.
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    count = 0
    for x, labels in loader:
        x, y = x.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        logits = model(x)
        _check_labels(labels, logits.shape[1])
        loss = loss_fn(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        # Con reducción «sum» la pérdida ya es la suma del minilote; con «mean», su media.
        total_loss += loss.detach().double() * (1 if summed else len(y))
        correct += (logits.detach().argmax(dim=1) == y).sum()
        count += len(y)
    if count == 0:
        raise ValueError("«loader» no contiene ningún ejemplo.")
    return float(total_loss) / count, int(correct) / count


def make_optimizer(
    model: nn.Module,
    name: str = "adam",
    *,
    lr: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """Crea ``Adam`` o ``SGD`` (con momento) sobre los parámetros de ``model``."""
    model = check_model(model)
    check_choice(name, "optimizer", ("adam", "sgd"))
    lr = check_float(lr, "lr", minimum=0.0, strict_minimum=True)
    momentum = check_float(momentum, "momentum", minimum=0.0, maximum=1.0)
    weight_decay = check_float(weight_decay, "weight_decay", minimum=0.0)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)


def make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Evolución de la tasa de aprendizaje paso a paso (véase :data:`LR_SCHEDULES`).

    ``"constant"`` devuelve ``None`` (tasa fija). ``"linear"`` la reduce en línea recta desde
    el valor inicial hasta 0 a lo largo de ``total_steps`` pasos del optimizador: al final del
    entrenamiento los pasos son pequeños y los pesos dejan de oscilar alrededor del mínimo.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"«optimizer» debe ser un torch.optim.Optimizer; se recibió {describe(optimizer)}."
        )
    check_choice(schedule, "lr_schedule", LR_SCHEDULES)
    total_steps = check_int(total_steps, "total_steps", minimum=1)
    if schedule == "constant":
        return None
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: max(0.0, 1.0 - step / total_steps)
    )


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    test_loader: DataLoader,
    *,
    epochs: int,
    optimizer: str | torch.optim.Optimizer = "adam",
    lr: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    device: str | torch.device | None = None,
    label: str = "",
    verbose: bool = True,
    target_accuracy: float | None = None,
    stop_on_divergence: bool = True,
    lr_schedule: str = "constant",
) -> History:
    """Entrena ``model`` durante ``epochs`` épocas y devuelve su :class:`~bncourse.History`.

    Tras cada época evalúa en ``test_loader`` con :func:`evaluate` (modo de inferencia, sin
    gradientes) e imprime, si ``verbose``, una línea compacta con las métricas: así se ve el
    progreso sin llenar la salida de barras.

    Parámetros
    ----------
    model:
        La red; se mueve a ``device`` (por defecto, la GPU si la hay).
    train_loader, test_loader:
        Datos de entrenamiento y de evaluación.
    epochs:
        Número máximo de épocas.
    optimizer:
        ``"adam"``, ``"sgd"`` (con ``momentum``) o un optimizador ya creado.
    lr, momentum, weight_decay:
        Hiperparámetros del optimizador cuando se crea aquí.
    label:
        Nombre de la configuración en el historial y en las líneas de progreso.
    target_accuracy:
        Si se da, el entrenamiento se detiene en cuanto la exactitud de prueba la alcanza.
    stop_on_divergence:
        Si la pérdida deja de ser finita, registra la época y se detiene.
    lr_schedule:
        ``"constant"`` (por defecto) o ``"linear"``: la tasa baja en línea recta hasta 0 a lo
        largo de las ``epochs`` épocas, paso a paso (véase :func:`make_scheduler`).

    Las métricas de entrenamiento son las acumuladas durante cada época (véase
    :func:`train_epoch`); ``seconds`` acumula el tiempo de entrenamiento y evaluación.
    """
    model = check_model(model)
    train_loader = _check_loader(train_loader, "train_loader")
    test_loader = _check_loader(test_loader, "test_loader")
    epochs = check_int(epochs, "epochs", minimum=1)
    verbose = check_bool(verbose, "verbose")
    stop_on_divergence = check_bool(stop_on_divergence, "stop_on_divergence")
    if not isinstance(label, str):
        raise TypeError(f"«label» debe ser una cadena; se recibió {describe(label)}.")
    if target_accuracy is not None:
        target_accuracy = check_float(target_accuracy, "target_accuracy", minimum=0.0, maximum=1.0)
    device = default_device() if device is None else _resolve_device(device, model)
    model.to(device)
    if isinstance(optimizer, str):
        optimizer = make_optimizer(
            model, optimizer, lr=lr, momentum=momentum, weight_decay=weight_decay
        )
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"«optimizer» debe ser 'adam', 'sgd' o un torch.optim.Optimizer; se recibió {describe(optimizer)}."
        )
    scheduler = make_scheduler(optimizer, lr_schedule, epochs * max(1, len(train_loader)))
    history = History(label=label)
    elapsed = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        train_loss, train_acc = train_epoch(
            model, train_loader, optimizer, device=device, scheduler=scheduler
        )
        test_loss, test_acc = evaluate(model, test_loader, device=device)
        elapsed += time.perf_counter() - start
        history.append(
            train_loss=train_loss,
            train_accuracy=train_acc,
            test_loss=test_loss,
            test_accuracy=test_acc,
            seconds=elapsed,
        )
        if verbose:
            print(
                f"{label + ': ' if label else ''}época {epoch}/{epochs}  pérdida {train_loss:.3f}/{test_loss:.3f}"
                f"  exactitud {100 * train_acc:.2f} %/{100 * test_acc:.2f} %"
                f"  (entrenamiento/prueba)  {elapsed:.1f} s",
                flush=True,
            )
        if stop_on_divergence and not math.isfinite(train_loss):
            break
        if target_accuracy is not None and test_acc >= target_accuracy:
            break
    return history
