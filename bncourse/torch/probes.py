"""Sondas y mediciones de los experimentos: qué ve una unidad, cuán suave es la pérdida, cuánto
ruido meten las estadísticas del minilote.

- :class:`UnitProbe`: registra, con un *hook* de PyTorch, la entrada de un módulo (por ejemplo,
  una sigmoide) para una unidad elegida y resume sus percentiles; :func:`activation_module` da
  el módulo de activación de una capa oculta de un :class:`~bncourse.torch.MLP`.
- :func:`gradient_landscape`: mide cuánto cambian la pérdida y el gradiente al avanzar en la
  dirección del gradiente con pasos de varios tamaños (Santurkar et al., 2018).
- :func:`batch_statistics_noise`: el ruido que introducen las estadísticas del minilote en la
  salida de BN, según el tamaño del minilote.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from .._checks import check_float, check_int, describe
from .models import MLP
from .training import as_tensors, check_model, enter_training, state_restored

__all__ = [
    "UnitProbe",
    "activation_module",
    "batch_statistics_noise",
    "gradient_landscape",
]


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
        self._handle: RemovableHandle | None = None

    def _hook(self, _module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
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

    def __exit__(self, *exc: object) -> None:
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
    block = model.hidden[layer]
    assert isinstance(block, nn.Sequential)
    for module in block:
        if isinstance(module, nn.ReLU | nn.Sigmoid | nn.Tanh):
            return module
    raise ValueError(f"La capa oculta {layer} no tiene módulo de activación.")  # pragma: no cover


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
    ``(x, y)`` **en modo de entrenamiento** (BN normaliza con las estadísticas del minilote, que es
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
    model = check_model(model)
    x, y = as_tensors((x, y), "(x, y)")
    if isinstance(step_sizes, str) or not isinstance(step_sizes, Sequence) or not step_sizes:
        raise TypeError(
            f"«step_sizes» debe ser una lista no vacía de números positivos; se recibió "
            f"{describe(step_sizes)}."
        )
    etas = [check_float(s, "step_sizes", minimum=0.0, strict_minimum=True) for s in step_sizes]
    seed = check_int(seed, "seed", minimum=0)
    params = [p for p in model.parameters() if p.requires_grad]

    def loss_and_grad() -> tuple[float, torch.Tensor]:
        torch.manual_seed(seed)
        for p in params:
            p.grad = None
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return float(loss.detach()), _flat_grad(model)

    with state_restored(model), torch.random.fork_rng(devices=[]):
        enter_training(model)
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
