"""Las estadísticas de población de las capas BN: encontrarlas, reestimarlas y congelarlas.

- :data:`BATCHNORM_TYPES`: las clases de BN de PyTorch que guardan estadísticas.
- :func:`batchnorm_layers`: las capas BN de un modelo, con su nombre.
- :func:`recompute_bn_stats`: reestima ``running_mean`` y ``running_var`` con un conjunto de
  datos, como media exacta sobre sus minilotes (no con la media móvil del entrenamiento). Sirve
  para corregir estadísticas rezagadas respecto a los pesos o para adaptarlas a datos con otra
  distribución (la idea de *AdaBN*, Li et al., 2016). Hace lo mismo que
  ``torch.optim.swa_utils.update_bn``, pero con el resto de capas (p. ej. *dropout*) en modo
  evaluación y devolviendo el modelo en el modo en que estaba.
- :func:`freeze_batchnorm`: congela las capas BN para un ajuste fino (modo de inferencia y
  :math:`\\gamma`, :math:`\\beta` sin gradiente); :func:`bncourse.torch.train_epoch` y
  :func:`bncourse.torch.evaluate` respetan ese modo.
"""

from __future__ import annotations

from collections.abc import Iterable, Sized
from typing import Any

import torch
from torch import nn

from .._checks import check_int, describe
from .training import check_model

__all__ = ["BATCHNORM_TYPES", "batchnorm_layers", "freeze_batchnorm", "recompute_bn_stats"]

BATCHNORM_TYPES: tuple[type[nn.modules.batchnorm._BatchNorm], ...] = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
)
"""Las capas de normalización por lotes de PyTorch (``SyncBatchNorm`` incluida)."""

_BatchNorm = nn.modules.batchnorm._BatchNorm


def batchnorm_layers(model: nn.Module) -> list[tuple[str, _BatchNorm]]:
    """Pares ``(nombre, capa)`` de las capas BN de ``model`` que guardan estadísticas."""
    model = check_model(model)
    return [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, BATCHNORM_TYPES) and m.running_mean is not None
    ]


def freeze_batchnorm(model: nn.Module) -> nn.Module:
    """Congela todas las capas BN de ``model`` para un ajuste fino y devuelve ``model``.

    Cada capa BN pasa a modo de inferencia (normaliza con sus estadísticas de población y ya no
    las actualiza) y sus :math:`\\gamma` y :math:`\\beta` dejan de recibir gradiente
    (``requires_grad=False``). El resto del modelo no cambia. :func:`bncourse.torch.train_epoch`,
    :func:`bncourse.torch.fit` y :func:`bncourse.torch.evaluate` conservan ese modo; un
    ``model.train()`` explícito lo deshace (vuelva a llamar a esta función después).
    """
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError("El modelo no tiene capas BN con estadísticas de población que congelar.")
    for _, bn in layers:
        bn.eval()
        bn.requires_grad_(False)
    return model


@torch.no_grad()
def recompute_bn_stats(
    model: nn.Module,
    data: Iterable[Any],
    *,
    max_batches: int | None = None,
    device: str | torch.device | None = None,
) -> nn.Module:
    """Reestima las estadísticas de población de todas las capas BN de ``model`` con ``data``.

    Pone a cero las estadísticas, pasa los datos por la red **sin gradientes**, con las capas BN
    en modo de entrenamiento (para que acumulen) y todas las demás en modo de inferencia, y deja en
    cada BN la media de las estadísticas de los minilotes con el mismo peso para todos
    (``momentum=None`` en PyTorch). Los pesos no cambian. Al terminar, cada submódulo vuelve al
    modo (``train``/``eval``) que tenía y cada BN a su ``momentum``.

    Parámetros
    ----------
    model:
        Red con al menos una capa BN con ``track_running_stats=True``.
    data:
        Un ``DataLoader`` (o cualquier iterable) que dé tensores de entrada o pares
        ``(entrada, etiqueta)``; las etiquetas no se usan. Los minilotes deben tener más de un
        ejemplo.
    max_batches:
        Si se da, usa solo los primeros ``max_batches`` minilotes.
    device:
        Dispositivo de los datos; por defecto, el de los parámetros del modelo.

    Devuelve
    --------
    El propio ``model``, modificado en su sitio.
    """
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError(
            "El modelo no tiene capas BN con estadísticas de población: no hay nada que reestimar."
        )
    if isinstance(data, torch.Tensor) or not isinstance(data, Iterable):
        raise TypeError(
            "«data» debe ser un DataLoader o un iterable de minilotes; se recibió "
            f"{describe(data)}."
        )
    if isinstance(data, Sized) and len(data) == 0:
        raise ValueError("«data» no contiene ningún minilote.")
    if max_batches is not None:
        max_batches = check_int(max_batches, "max_batches", minimum=1)
    if device is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")

    modes = {m: m.training for m in model.modules()}
    momenta = {bn: bn.momentum for _, bn in layers}
    model.eval()
    for _, bn in layers:
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    seen = 0
    try:
        for batch in data:
            if max_batches is not None and seen >= max_batches:
                break
            x = batch[0] if isinstance(batch, list | tuple) else batch
            if not isinstance(x, torch.Tensor):
                raise TypeError(
                    f"Cada minilote de «data» debe ser un tensor o un par (tensor, etiquetas); "
                    f"se recibió {describe(x)}."
                )
            model(x.to(device))
            seen += 1
    finally:
        for m, mode in modes.items():
            m.training = mode
        for bn, momentum in momenta.items():
            bn.momentum = momentum
    if seen == 0:
        raise ValueError("«data» no contiene ningún minilote.")
    return model
