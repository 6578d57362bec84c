"""El desplazamiento interno de covariables medido como Santurkar et al. (2018), §2.2.

Ioffe y Szegedy (2015) describieron el *internal covariate shift* como el cambio de la
distribución de la entrada de una capa cuando se actualizan las capas anteriores. Santurkar,
Tsipras, Ilyas y Madry (2018) propusieron medirlo por su efecto en la optimización: cuánto cambia
el gradiente de la capa $i$ cuando las capas anteriores dan su paso. Con los pesos
$W_1, \\dots, W_k$ del paso $t$ y el minilote $(x, y)$ de ese paso,

- $G_i = \\nabla_{W_i} L(W_1, \\dots, W_k; x, y)$, el gradiente con que la capa $i$ da su paso;
- $G'_i = \\nabla_{W_i} L(W'_1, \\dots, W'_{i-1}, W_i, \\dots, W_k; x, y)$, el mismo gradiente
  después de que las capas $1, \\dots, i-1$ hayan dado su paso de SGD con ese minilote,
  $W'_j = W_j - \\eta\\, \\nabla_{W_j} L$.

El desplazamiento de la capa $i$ es $\\lVert G_i - G'_i \\rVert_2$, y la coseno-similitud
$\\cos(G_i, G'_i)$ dice si la dirección se conserva. :func:`gradient_ics` calcula las dos cosas
(y el cociente $\\lVert G_i - G'_i \\rVert / \\lVert G_i \\rVert$, que no depende de la escala
del gradiente) para cada capa de un :class:`~bncourse.torch.MLP`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .._checks import check_float, check_int, describe
from .models import MLP
from .training import check_model, enter_training, state_restored

__all__ = ["gradient_ics", "mlp_layers"]


def mlp_layers(model: nn.Module) -> list[nn.Module]:
    """Las capas de un :class:`MLP` en el orden de la pasada: sus bloques ocultos y la salida.

    Cada bloque oculto (``Linear``, normalización, activación) es una capa: sus parámetros
    (pesos, sesgo, $\\gamma$ y $\\beta$ de BN) dan su paso juntos.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"«model» debe ser un bncourse.torch.MLP; se recibió {describe(model)}.")
    return [*model.hidden, model.output]


def _weight(layer: nn.Module) -> torch.Tensor:
    for module in layer.modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            weight: torch.Tensor = module.weight
            return weight
    raise ValueError(
        f"La capa {type(layer).__name__} no tiene una capa lineal ni convolucional cuyo peso medir."
    )


def gradient_ics(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    *,
    layers: Sequence[nn.Module] | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = nn.functional.cross_entropy,
    seed: int = 0,
) -> dict[str, float]:
    """Desplazamiento interno de covariables de cada capa según Santurkar et al. (2018), §2.2.

    Parámetros
    ----------
    model:
        La red, con los pesos del paso $t$. Se evalúa **en modo de entrenamiento** (BN con las
        estadísticas del minilote), como al entrenar. Al terminar queda exactamente como estaba
        (pesos, estadísticas de población, gradientes y modos).
    x, y:
        El minilote del paso.
    lr:
        Tasa de aprendizaje del paso de SGD (sin momento) que dan las capas anteriores.
    layers:
        Las capas en el orden de la pasada hacia delante; cada una es un módulo cuyos
        parámetros se actualizan juntos, y el gradiente que se mide es el del peso de su primera
        capa lineal o convolucional. Por defecto, :func:`mlp_layers` (el modelo debe ser un
        :class:`MLP`).
    loss_fn:
        Pérdida ``loss_fn(model(x), y)``; por defecto, la entropía cruzada.
    seed:
        Semilla del *dropout* o del ruido, la misma en todas las pasadas, para que solo cambien
        los pesos.

    Devuelve
    --------
    Para cada capa $i \\geq 1$ (la primera no tiene capas anteriores: $G'_0 = G_0$),
    ``ics_l2@i`` ($\\lVert G_i - G'_i \\rVert_2$), ``ics_rel@i``
    ($\\lVert G_i - G'_i \\rVert / \\lVert G_i \\rVert$) y ``ics_cos@i``
    ($\\cos(G_i, G'_i)$); y ``ics_l2``, ``ics_rel`` e ``ics_cos``, sus medias sobre esas capas.
    """
    model = check_model(model)
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor) or len(x) != len(y):
        raise TypeError("«x» e «y» deben ser tensores con el mismo número de ejemplos.")
    lr = check_float(lr, "lr", minimum=0.0, strict_minimum=True)
    seed = check_int(seed, "seed", minimum=0)
    layers = mlp_layers(model) if layers is None else list(layers)
    if len(layers) < 2 or not all(isinstance(m, nn.Module) for m in layers):
        raise TypeError("«layers» debe ser una lista de al menos dos módulos del modelo.")
    groups = [[p for p in layer.parameters() if p.requires_grad] for layer in layers]
    weights = [_weight(layer) for layer in layers]
    params = [p for p in model.parameters() if p.requires_grad]

    def backward() -> None:
        torch.manual_seed(seed)
        for p in params:
            p.grad = None
        loss_fn(model(x), y).backward()

    def grad_of(p: torch.Tensor) -> torch.Tensor:
        return (p.grad if p.grad is not None else torch.zeros_like(p)).detach().clone()

    out: dict[str, float] = {}
    with state_restored(model), torch.random.fork_rng(devices=[]):
        enter_training(model)
        backward()
        base = [[p.detach().clone() for p in group] for group in groups]
        steps = [[grad_of(p) for p in group] for group in groups]
        first = [grad_of(w).reshape(-1) for w in weights]
        for i in range(1, len(layers)):
            with torch.no_grad():
                for j in range(len(layers)):
                    for p, p0, g in zip(groups[j], base[j], steps[j], strict=True):
                        p.copy_(p0 - lr * g if j < i else p0)
            backward()
            g0, g1 = first[i], grad_of(weights[i]).reshape(-1)
            diff = float((g0 - g1).norm())
            norm0 = float(g0.norm())
            denom = norm0 * float(g1.norm())
            out[f"ics_l2@{i}"] = diff
            out[f"ics_rel@{i}"] = diff / norm0 if norm0 > 0 else math.nan
            out[f"ics_cos@{i}"] = float(g0 @ g1) / denom if denom > 0 else math.nan
    for key in ("ics_l2", "ics_rel", "ics_cos"):
        values = [out[f"{key}@{i}"] for i in range(1, len(layers))]
        out[key] = sum(values) / len(values)
    return out
