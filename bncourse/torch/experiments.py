"""Experimentos del capítulo de ventajas: entrenamiento por pasos, sondas y mediciones.

- :func:`train_steps`: entrena un número fijo de **pasos** (no de épocas) con minilotes
  muestreados directamente de tensores en memoria y evalúa cada ``eval_every`` pasos. Devuelve
  una fila (diccionario) por evaluación, el formato que espera :func:`bncourse.sweep.run_sweep`.
- :class:`UnitProbe`: sonda que registra, con un *hook* de PyTorch, la entrada de un módulo (por
  ejemplo, una sigmoide) para una unidad elegida y resume sus percentiles.
- :func:`gradient_landscape`: mide cuánto cambian la pérdida y el gradiente al avanzar en la
  dirección del gradiente con pasos de varios tamaños (Santurkar et al., 2018).
- :class:`NoisyBatchNorm1d` y :func:`add_batchnorm_noise`: BN seguida de un ruido cuya media y
  varianza cambian en cada paso, el experimento de «BN ruidosa» de Santurkar et al. (2018).
- :class:`MNISTRun`: función de entrenamiento lista para los barridos sobre MNIST real.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import TensorDataset

from .. import reproducibility
from .._checks import check_bool, check_choice, check_float, check_int, describe
from .data import mnist_tensors
from .models import MLP
from .training import make_optimizer

__all__ = [
    "MNISTRun",
    "GhostBatchNorm1d",
    "NoisyBatchNorm1d",
    "UnitProbe",
    "activation_module",
    "add_batchnorm_noise",
    "batch_statistics_noise",
    "evaluate_tensors",
    "gradient_landscape",
    "train_steps",
    "use_ghost_batches",
]

Tensors = tuple[torch.Tensor, torch.Tensor]


def _as_tensors(data: Any, name: str) -> Tensors:
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


def _check_model(model: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"«model» debe ser un torch.nn.Module; se recibió {describe(model)}.")
    return model


class UnitProbe:
    """Sonda sobre la **entrada** de ``module`` para la unidad ``unit``.

    Mientras está activa (dentro de un bloque ``with``), un *forward pre-hook* guarda la columna
    ``unit`` de la entrada de ``module`` en cada pasada. :meth:`percentiles` resume lo recogido.
    Con ``module`` igual a la sigmoide de la última capa oculta, registra lo mismo que la
    figura 1 de Ioffe y Szegedy (2015): la entrada de una sigmoide.

    Parámetros
    ----------
    module:
        Módulo cuya entrada se observa (p. ej., el ``nn.Sigmoid`` de una capa).
    unit:
        Índice de la unidad (columna de la entrada ``(N, D)``).
    """

    def __init__(self, module: nn.Module, unit: int = 0) -> None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"«module» debe ser un torch.nn.Module; se recibió {describe(module)}.")
        self.module = module
        self.unit = check_int(unit, "unit", minimum=0)
        self._values: list[torch.Tensor] = []
        self._handle = None

    def _hook(self, _module, inputs):
        x = inputs[0]
        if x.ndim != 2 or self.unit >= x.shape[1]:
            raise ValueError(
                f"La sonda espera entradas (N, D) con D > {self.unit}; recibió la forma "
                f"{tuple(x.shape)}."
            )
        self._values.append(x[:, self.unit].detach().clone())

    def __enter__(self) -> UnitProbe:
        self._values = []
        self._handle = self.module.register_forward_pre_hook(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    @property
    def values(self) -> torch.Tensor:
        """Valores recogidos desde que se activó la sonda (tensor 1D)."""
        if not self._values:
            return torch.empty(0)
        return torch.cat(self._values)

    def percentiles(self, qs: Sequence[float] = (15, 50, 85)) -> dict[str, float]:
        """Percentiles ``qs`` (entre 0 y 100) de lo recogido, con claves ``"p15"``, ... ."""
        values = self.values.double()
        if values.numel() == 0:
            raise ValueError("La sonda no ha recogido ningún valor: actívela con «with».")
        out = {}
        for q in qs:
            q = check_float(q, "percentil", minimum=0.0, maximum=100.0)
            out[f"p{q:g}"] = float(torch.quantile(values, q / 100.0))
        return out


def activation_module(model: nn.Module, layer: int = -1) -> nn.Module:
    """Módulo de activación (ReLU, sigmoide o tanh) de la capa oculta ``layer`` de un :class:`MLP`."""
    if not isinstance(model, MLP):
        raise TypeError(f"«model» debe ser un bncourse.torch.MLP; se recibió {describe(model)}.")
    layer = check_int(layer, "layer", minimum=-len(model.hidden), maximum=len(model.hidden) - 1)
    for module in model.hidden[layer]:
        if isinstance(module, nn.ReLU | nn.Sigmoid | nn.Tanh):
            return module
    raise ValueError(f"La capa oculta {layer} no tiene módulo de activación.")  # pragma: no cover


@torch.no_grad()
def evaluate_tensors(model: nn.Module, data: Any, *, chunk: int = 5000) -> tuple[float, float]:
    """Pérdida de entropía cruzada media y exactitud de ``model`` sobre ``data``, en modo evaluación.

    ``data`` es un ``TensorDataset`` o una tupla ``(x, y)``; se recorre en trozos de ``chunk``
    ejemplos. El modelo vuelve después al modo que tenía.
    """
    model = _check_model(model)
    x, y = _as_tensors(data, "data")
    chunk = check_int(chunk, "chunk", minimum=1)
    was_training = model.training
    model.eval()
    try:
        total, correct = 0.0, 0
        for start in range(0, len(x), chunk):
            logits = model(x[start : start + chunk])
            total += float(
                nn.functional.cross_entropy(logits, y[start : start + chunk], reduction="sum")
            )
            correct += int((logits.argmax(dim=1) == y[start : start + chunk]).sum())
    finally:
        model.train(was_training)
    return total / len(x), correct / len(x)


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
    cada ``eval_every`` pasos y al final, siempre en modo evaluación.

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
        Si es ``True``, evalúa también sobre todo ``train`` en modo evaluación (columnas
        ``train_eval_loss`` y ``train_accuracy``), lo necesario para medir la brecha entre
        entrenamiento y prueba.
    probe:
        Una :class:`UnitProbe` opcional: en cada evaluación se registran los percentiles 15, 50
        y 85 de la entrada observada sobre los ejemplos de ``test`` en modo evaluación (columnas
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
    model = _check_model(model)
    x_train, y_train = _as_tensors(train, "train")
    test = _as_tensors(test, "test")
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
                row["test_loss"], row["test_accuracy"] = evaluate_tensors(model, test)
            row.update(probe.percentiles())
        else:
            row["test_loss"], row["test_accuracy"] = evaluate_tensors(model, test)
        if train_metrics:
            row["train_eval_loss"], row["train_accuracy"] = evaluate_tensors(
                model, (x_train, y_train)
            )
        if measure is not None:
            extra = measure(model)
            if not isinstance(extra, dict):
                raise TypeError(
                    f"«measure» debe devolver un diccionario; devolvió {describe(extra)}."
                )
            row.update(extra)
        row.update(train_probe)
        row["diverged"] = diverged
        rows.append(row)

    model.train()
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
        model.train()
    return rows


def _flat_grad(model: nn.Module) -> torch.Tensor:
    return torch.cat(
        [
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
            for p in model.parameters()
            if p.requires_grad
        ]
    )


def gradient_landscape(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    step_sizes: Sequence[float],
    *,
    seed: int = 0,
) -> dict[str, float]:
    """Suavidad de la pérdida en la dirección del gradiente (Santurkar et al., 2018).

    Con los pesos actuales $w$ calcula la pérdida $L(w)$ y el gradiente $g$ sobre el minilote
    ``(x, y)`` **en modo entrenamiento** (BN normaliza con las estadísticas del minilote, que es
    la función que optimiza el descenso). Después, para cada tamaño de paso $\\eta$ de
    ``step_sizes``, evalúa $L(w - \\eta g)$ y $\\nabla L(w - \\eta g)$. Al terminar, el modelo
    queda exactamente como estaba (pesos, estadísticas de población de BN y gradientes).

    Devuelve
    --------
    Diccionario con:

    - ``loss_min``, ``loss_max`` y ``loss_range`` (su diferencia): extremos de
      $L(w - \\eta g)$ sobre los $\\eta$ de ``step_sizes`` y $\\eta = 0$;
    - ``grad_change_min``, ``grad_change_max``: extremos de
      $\\lVert \\nabla L(w - \\eta g) - g \\rVert$ (la «capacidad predictiva» del gradiente:
      cuanto menor, más se parece el gradiente tras el paso al de partida);
    - ``beta``: máximo de $\\lVert \\nabla L(w - \\eta g) - g \\rVert / \\lVert \\eta g \\rVert$,
      la $\\beta$-suavidad efectiva;
    - ``grad_norm``: $\\lVert g \\rVert$;
    - ``loss@η`` y ``grad_change@η`` para cada $\\eta$ (p. ej. ``"grad_change@0.1"``): la
      pérdida y el cambio del gradiente con ese paso.

    El *dropout* y el ruido de :class:`NoisyBatchNorm1d` usan la misma semilla ``seed`` en
    cada evaluación, para que solo cambien los pesos.
    """
    model = _check_model(model)
    x, y = _as_tensors((x, y), "(x, y)")
    if isinstance(step_sizes, str) or not isinstance(step_sizes, Sequence) or not step_sizes:
        raise TypeError(
            f"«step_sizes» debe ser una lista no vacía de números positivos; se recibió "
            f"{describe(step_sizes)}."
        )
    etas = [check_float(s, "step_sizes", minimum=0.0, strict_minimum=True) for s in step_sizes]
    seed = check_int(seed, "seed", minimum=0)
    params = [p for p in model.parameters() if p.requires_grad]
    saved_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    saved_grads = [None if p.grad is None else p.grad.detach().clone() for p in params]
    was_training = model.training

    def loss_and_grad() -> tuple[float, torch.Tensor]:
        torch.manual_seed(seed)
        for p in params:
            p.grad = None
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return float(loss.detach()), _flat_grad(model)

    model.train()
    try:
        with torch.random.fork_rng(devices=[]):
            loss0, g = loss_and_grad()
            base = [p.detach().clone() for p in params]
            grads = [
                p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
                for p in params
            ]
            losses, changes, betas = [loss0], [], []
            g_norm = float(g.norm())
            for eta in etas:
                with torch.no_grad():
                    for p, p0, gp in zip(params, base, grads, strict=True):
                        p.copy_(p0 - eta * gp)
                loss, g_eta = loss_and_grad()
                losses.append(loss)
                change = float((g_eta - g).norm())
                changes.append(change)
                betas.append(change / (eta * g_norm) if g_norm > 0 else math.nan)
    finally:
        model.load_state_dict(saved_state)
        for p, grad in zip(params, saved_grads, strict=True):
            p.grad = grad
        model.train(was_training)
    finite = all(math.isfinite(v) for v in losses)
    per_step = {}
    for eta, loss, change in zip(etas, losses[1:], changes, strict=True):
        per_step[f"loss@{eta:g}"] = loss
        per_step[f"grad_change@{eta:g}"] = change
    return {
        "loss_min": min(losses) if finite else math.nan,
        "loss_max": max(losses) if finite else math.inf,
        "loss_range": max(losses) - min(losses) if finite else math.inf,
        "grad_change_min": min(changes),
        "grad_change_max": max(changes),
        "beta": max(betas),
        "grad_norm": g_norm,
        **per_step,
    }


class NoisyBatchNorm1d(nn.Module):
    """BN seguida de ruido con media no nula y varianza no unitaria que cambia en cada paso.

    Reproduce la idea del experimento de Santurkar et al. (2018): en modo entrenamiento, en
    cada pasada se sortean, para cada unidad $j$, una media $\\mu_j \\sim U(-a, a)$ y una
    escala $s_j \\sim U(1, b)$, y cada activación normalizada $\\hat y_{ij}$ de la salida de BN
    se transforma en $s_j \\hat y_{ij} + \\mu_j + \\sigma\\,\\varepsilon_{ij}$, con
    $\\varepsilon_{ij}$ normal estándar independiente para cada ejemplo. Así, la distribución
    que recibe la capa siguiente tiene media y varianza distintas en cada paso: **más**
    desplazamiento interno de covariables que sin BN. En modo evaluación no extrae nada al azar y
    aplica la transformación esperada, $E[s_j]\\,\\hat y_{ij} + E[\\mu_j] = \\frac{1 + b}{2}\\,
    \\hat y_{ij}$, para que la capa siguiente reciba en inferencia, en promedio, lo mismo que
    al entrenar (como el *dropout*, que compensa en un modo lo que apaga en el otro).

    Parámetros
    ----------
    bn:
        La capa ``nn.BatchNorm1d`` que se envuelve, o el número de características para crear
        una nueva.
    mean_range:
        $a$, amplitud de las medias sorteadas.
    scale_max:
        $b \\ge 1$, escala máxima sorteada.
    noise_std:
        $\\sigma$, desviación típica del ruido independiente por ejemplo.
    """

    def __init__(
        self,
        bn: nn.BatchNorm1d | int,
        *,
        mean_range: float = 1.0,
        scale_max: float = 2.0,
        noise_std: float = 0.5,
    ) -> None:
        super().__init__()
        if isinstance(bn, bool) or not isinstance(bn, nn.BatchNorm1d | int):
            raise TypeError(
                f"«bn» debe ser un nn.BatchNorm1d o un número de características; se recibió "
                f"{describe(bn)}."
            )
        self.bn = nn.BatchNorm1d(check_int(bn, "bn", minimum=1)) if isinstance(bn, int) else bn
        self.mean_range = check_float(mean_range, "mean_range", minimum=0.0)
        self.scale_max = check_float(scale_max, "scale_max", minimum=1.0)
        self.noise_std = check_float(noise_std, "noise_std", minimum=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn(x)
        if not self.training:
            return out * self.expected_scale  # E[μ_j] = 0 y E[ε_ij] = 0
        features = out.shape[1]
        mean = (torch.rand(features) * 2 - 1) * self.mean_range
        scale = 1 + torch.rand(features) * (self.scale_max - 1)
        noise = self.noise_std * torch.randn_like(out) if self.noise_std > 0 else 0.0
        return out * scale.to(out) + mean.to(out) + noise

    @property
    def expected_scale(self) -> float:
        """$E[s_j] = (1 + b)/2$, la escala que se aplica en modo evaluación."""
        return (1.0 + self.scale_max) / 2

    def extra_repr(self) -> str:
        return (
            f"mean_range={self.mean_range}, scale_max={self.scale_max}, noise_std={self.noise_std}"
        )


def add_batchnorm_noise(model: nn.Module, **noise: float) -> nn.Module:
    """Sustituye, en el sitio, cada ``nn.BatchNorm1d`` de ``model`` por una :class:`NoisyBatchNorm1d`.

    Las capas de BN originales (con sus parámetros) quedan dentro de las nuevas. Los argumentos
    con nombre (``mean_range``, ``scale_max``, ``noise_std``) pasan a cada capa. Devuelve
    ``model``; lanza ``ValueError`` si no contiene ninguna ``BatchNorm1d``.
    """
    model = _check_model(model)
    unknown = sorted(set(noise) - {"mean_range", "scale_max", "noise_std"})
    if unknown:
        raise TypeError(
            f"Parámetros de ruido desconocidos: {unknown}; los válidos son mean_range, scale_max "
            "y noise_std."
        )
    NoisyBatchNorm1d(1, **noise)  # valida los valores antes de tocar el modelo
    return _replace_batchnorm(model, lambda bn: NoisyBatchNorm1d(bn, **noise))


class GhostBatchNorm1d(nn.Module):
    """BN con estadísticas de «minilotes fantasma» de ``group_size`` ejemplos (Hoffer et al., 2017).

    En modo entrenamiento divide cada minilote en grupos consecutivos de ``group_size``
    ejemplos y normaliza cada grupo con su propia media y varianza (sesgada), como si fuese un
    minilote aparte; las estadísticas de población se actualizan con la media de las de los
    grupos. Permite cambiar el ruido de las estadísticas de BN **sin** cambiar el minilote del
    gradiente. En modo evaluación es la BN envuelta, sin cambios.

    Parámetros
    ----------
    bn:
        La ``nn.BatchNorm1d`` que se envuelve (sus parámetros y búferes se usan tal cual).
    group_size:
        Ejemplos por grupo; debe dividir al tamaño de cada minilote de entrenamiento.
    """

    def __init__(self, bn: nn.BatchNorm1d, group_size: int) -> None:
        super().__init__()
        if not isinstance(bn, nn.BatchNorm1d):
            raise TypeError(f"«bn» debe ser un nn.BatchNorm1d; se recibió {describe(bn)}.")
        self.bn = bn
        self.group_size = check_int(group_size, "group_size", minimum=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if not self.training or self.group_size == n:
            return self.bn(x)
        g = self.group_size
        if x.ndim != 2 or n % g:
            raise ValueError(
                f"GhostBatchNorm1d necesita entradas (N, D) con N múltiplo de {g}; recibió la "
                f"forma {tuple(x.shape)}."
            )
        bn = self.bn
        d = x.shape[1]
        # (N, D) -> (g, N/g · D): cada columna es un par (grupo, característica), y
        # F.batch_norm normaliza cada columna sobre sus g filas (un grupo).
        columns = x.reshape(n // g, g, d).transpose(0, 1).reshape(g, -1)
        normalized = nn.functional.batch_norm(columns, None, None, training=True, eps=bn.eps)
        out = normalized.reshape(g, n // g, d).transpose(0, 1).reshape(n, d)
        if bn.affine:
            out = out * bn.weight + bn.bias
        if bn.track_running_stats and bn.running_mean is not None:
            with torch.no_grad():
                var, mean = torch.var_mean(columns, dim=0, unbiased=True)
                m = bn.momentum if bn.momentum is not None else 0.1
                bn.running_mean.mul_(1 - m).add_(m * mean.reshape(n // g, d).mean(dim=0))
                bn.running_var.mul_(1 - m).add_(m * var.reshape(n // g, d).mean(dim=0))
                bn.num_batches_tracked.add_(1)
        return out

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"


def use_ghost_batches(model: nn.Module, group_size: int) -> nn.Module:
    """Sustituye, en el sitio, cada ``nn.BatchNorm1d`` de ``model`` por una :class:`GhostBatchNorm1d`.

    Devuelve ``model``; lanza ``ValueError`` si no contiene ninguna ``BatchNorm1d``.
    """
    model = _check_model(model)
    group_size = check_int(group_size, "group_size", minimum=2)
    return _replace_batchnorm(model, lambda bn: GhostBatchNorm1d(bn, group_size))


def _replace_batchnorm(
    model: nn.Module, factory: Callable[[nn.BatchNorm1d], nn.Module]
) -> nn.Module:
    replaced = 0
    for module in list(model.modules()):
        if isinstance(module, NoisyBatchNorm1d | GhostBatchNorm1d):
            continue
        for name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm1d):
                setattr(module, name, factory(child))
                replaced += 1
    if replaced == 0:
        raise ValueError("«model» no contiene ninguna capa nn.BatchNorm1d que sustituir.")
    return model


@torch.no_grad()
def batch_statistics_noise(
    values: torch.Tensor, batch_size: int, *, draws: int = 200, seed: int = 0
) -> float:
    """Ruido que introducen las estadísticas del minilote en la salida de BN.

    Para cada ejemplo de ``values`` (tensor 1D con la preactivación de una unidad sobre un
    conjunto de datos) sortea ``draws`` minilotes de ``batch_size`` ejemplos que lo contienen,
    lo normaliza con la media y la desviación típica (sesgada, como BN) de cada minilote y mide
    la desviación típica de su valor normalizado entre minilotes. Devuelve la media sobre los
    ejemplos: 0 si BN usase las estadísticas de toda la población.
    """
    if not isinstance(values, torch.Tensor) or values.ndim != 1:
        raise TypeError(f"«values» debe ser un tensor 1D; se recibió {describe(values)}.")
    batch_size = check_int(batch_size, "batch_size", minimum=2, maximum=len(values))
    draws = check_int(draws, "draws", minimum=2)
    generator = torch.Generator().manual_seed(check_int(seed, "seed", minimum=0))
    v = values.double()
    n = len(v)
    # Compañeros de minilote: batch_size - 1 ejemplos al azar (con reemplazo, n grande).
    mates = torch.randint(0, n, (n, draws, batch_size - 1), generator=generator)
    batch = torch.cat([v[:, None, None].expand(n, draws, 1), v[mates]], dim=2)
    mean = batch.mean(dim=2)
    std = batch.std(dim=2, unbiased=False)
    normalized = (v[:, None] - mean) / (std + 1e-5)
    return float(normalized.std(dim=1).mean())


_UNSET: Any = object()


class MNISTRun:
    """Función de entrenamiento sobre MNIST real para :func:`bncourse.sweep.run_sweep`.

    Carga una vez un subconjunto estratificado de MNIST (``train_size`` ejemplos de
    entrenamiento y ``test_size`` de prueba, elegidos con ``data_seed``; ``None`` usa el
    conjunto entero) y, en cada llamada, construye un :class:`MLP` con la configuración pedida
    y lo entrena con :func:`train_steps`. Los argumentos con nombre del constructor fijan los
    valores por defecto, y los de cada llamada los sustituyen. Devuelve la lista de filas de
    :func:`train_steps`.

    Parámetros de la configuración
    ------------------------------
    norm, activation, hidden, init_std, dropout:
        Los de :class:`MLP`. Con ``norm="batch"``, las capas ocultas no llevan sesgo (BN ya
        resta la media), como en Ioffe y Szegedy (2015).
    noisy:
        ``None`` o un diccionario con los parámetros de :class:`NoisyBatchNorm1d`
        (solo con ``norm="batch"``): convierte cada BN en una BN ruidosa.
    ghost:
        ``None`` o el tamaño de grupo de :class:`GhostBatchNorm1d` (solo con ``norm="batch"``):
        BN calcula sus estadísticas sobre grupos de ese tamaño dentro de cada minilote.
    lr, optimizer, momentum, batch_size, steps, eval_every, seed, train_metrics:
        Los de :func:`train_steps`. ``seed`` fija también la inicialización (con
        :func:`bncourse.seed_everything`).
    probe_unit:
        Si es un entero, registra los percentiles de la entrada de esa unidad de la activación
        de la última capa oculta (columnas ``p15``, ``p50``, ``p85``).
    landscape:
        Si es una lista de tamaños de paso, mide en cada evaluación la suavidad de la pérdida
        con :func:`gradient_landscape` sobre un minilote fijo de entrenamiento.

    Ejemplo::

        run = MNISTRun(train_size=10_000, test_size=2000, steps=500)
        table = run_sweep(expand_grid(norm=["none", "batch"], lr=[0.01, 0.1, 1.0]), run)
    """

    def __init__(
        self,
        *,
        train_size: int | None = 10_000,
        test_size: int | None = 2000,
        data_seed: int = 0,
        data_dir=None,
        norm: str = "none",
        activation: str = "relu",
        hidden: Sequence[int] = (100, 100, 100),
        init_std: float | None = None,
        dropout: float = 0.0,
        noisy: dict[str, float] | None = None,
        ghost: int | None = None,
        lr: float = 0.1,
        optimizer: str = "sgd",
        momentum: float = 0.0,
        batch_size: int = 60,
        steps: int = 1000,
        eval_every: int = 100,
        seed: int = 0,
        train_metrics: bool = False,
        probe_unit: int | None = None,
        landscape: Sequence[float] | None = None,
    ) -> None:
        self.train, self.test = mnist_tensors(
            train_size, test_size, seed=data_seed, data_dir=data_dir
        )
        self.defaults: dict[str, Any] = {
            "norm": norm,
            "activation": activation,
            "hidden": hidden,
            "init_std": init_std,
            "dropout": dropout,
            "noisy": noisy,
            "ghost": ghost,
            "lr": lr,
            "optimizer": optimizer,
            "momentum": momentum,
            "batch_size": batch_size,
            "steps": steps,
            "eval_every": eval_every,
            "seed": seed,
            "train_metrics": train_metrics,
            "probe_unit": probe_unit,
            "landscape": landscape,
        }
        self._validate(self.defaults)  # los valores por defecto se comprueban antes de entrenar

    def _validate(self, config: dict[str, Any]) -> None:
        self.build(config)
        check_int(config["seed"], "seed", minimum=0)
        check_float(config["lr"], "lr", minimum=0.0, strict_minimum=True)
        check_int(config["steps"], "steps", minimum=1)
        check_int(config["eval_every"], "eval_every", minimum=1)
        check_int(config["batch_size"], "batch_size", minimum=1, maximum=len(self.train))
        check_bool(config["train_metrics"], "train_metrics")
        if config["probe_unit"] is not None:
            width = tuple(config["hidden"])[-1]
            check_int(config["probe_unit"], "probe_unit", minimum=0, maximum=width - 1)
        if config["landscape"] is not None:
            steps = config["landscape"]
            if isinstance(steps, str) or not isinstance(steps, Sequence) or not steps:
                raise TypeError(
                    "«landscape» debe ser None o una lista de tamaños de paso; se recibió "
                    f"{describe(steps)}."
                )
            for eta in steps:
                check_float(eta, "landscape", minimum=0.0, strict_minimum=True)

    def build(self, config: dict[str, Any]) -> nn.Module:
        """Construye (sin entrenar) la red de la configuración ``config`` completa."""
        check_choice(config["optimizer"], "optimizer", ("sgd", "adam"))
        model = MLP(
            784,
            config["hidden"],
            norm=config["norm"],
            activation=config["activation"],
            init_std=config["init_std"],
            dropout=config["dropout"],
            bias=config["norm"] != "batch",
        )
        if config["noisy"] is not None:
            if config["norm"] != "batch":
                raise ValueError(
                    f"«noisy» solo tiene sentido con norm='batch'; se pidió norm={config['norm']!r}."
                )
            if not isinstance(config["noisy"], dict):
                raise TypeError(
                    "«noisy» debe ser None o un diccionario de parámetros del ruido; se recibió "
                    f"{describe(config['noisy'])}."
                )
            add_batchnorm_noise(model, **config["noisy"])
        if config["ghost"] is not None:
            if config["norm"] != "batch" or config["noisy"] is not None:
                raise ValueError(
                    "«ghost» solo tiene sentido con norm='batch' y sin «noisy»; se pidió "
                    f"norm={config['norm']!r}, noisy={config['noisy']!r}."
                )
            use_ghost_batches(model, config["ghost"])
        return model

    def __call__(
        self,
        *,
        norm: str = _UNSET,
        activation: str = _UNSET,
        hidden: Sequence[int] = _UNSET,
        init_std: float | None = _UNSET,
        dropout: float = _UNSET,
        noisy: dict[str, float] | None = _UNSET,
        ghost: int | None = _UNSET,
        lr: float = _UNSET,
        optimizer: str = _UNSET,
        momentum: float = _UNSET,
        batch_size: int = _UNSET,
        steps: int = _UNSET,
        eval_every: int = _UNSET,
        seed: int = _UNSET,
        train_metrics: bool = _UNSET,
        probe_unit: int | None = _UNSET,
        landscape: Sequence[float] | None = _UNSET,
    ) -> list[dict[str, float]]:
        given = dict(locals())
        del given["self"]
        config = {k: (self.defaults[k] if v is _UNSET else v) for k, v in given.items()}
        self._validate(config)
        seed = config["seed"]
        reproducibility.seed_everything(seed)
        model = self.build(config)
        measure = None
        if config["landscape"] is not None:
            etas = [float(eta) for eta in config["landscape"]]
            gen = torch.Generator().manual_seed(seed + 12345)
            x, y = self.train.tensors
            idx = torch.randperm(len(x), generator=gen)[: config["batch_size"]]
            xb, yb = x[idx], y[idx]

            def measure(m: nn.Module) -> dict[str, float]:
                return gradient_landscape(m, xb, yb, etas, seed=seed)

        probe = None
        if config["probe_unit"] is not None:
            probe = UnitProbe(activation_module(model, -1), config["probe_unit"])
        return train_steps(
            model,
            self.train,
            self.test,
            steps=config["steps"],
            batch_size=config["batch_size"],
            lr=config["lr"],
            optimizer=config["optimizer"],
            momentum=config["momentum"],
            eval_every=config["eval_every"],
            seed=seed,
            train_metrics=config["train_metrics"],
            probe=probe,
            measure=measure,
        )
