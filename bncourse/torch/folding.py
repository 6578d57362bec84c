"""Plegado de BN (*BN folding*): absorber una capa BN en la convolución o capa densa previa.

En modo de inferencia, BN ya no depende del minilote: con las estadísticas de población
:math:`\\mu` y :math:`\\sigma^2` y los parámetros :math:`\\gamma`, :math:`\\beta`, cada canal
``c`` se transforma con la función afín fija

.. math:: \\mathrm{BN}(z)_c = \\gamma_c \\frac{z_c - \\mu_c}{\\sqrt{\\sigma_c^2 + \\varepsilon}}
   + \\beta_c = s_c z_c + (\\beta_c - s_c \\mu_c), \\qquad
   s_c = \\frac{\\gamma_c}{\\sqrt{\\sigma_c^2 + \\varepsilon}}.

Si ``z = W x + b`` sale de una convolución o de una capa densa, la composición es otra capa del
mismo tipo con pesos :math:`W'_c = s_c W_c` y sesgo :math:`b'_c = s_c (b_c - \\mu_c) + \\beta_c`.
La red plegada da las mismas salidas que la original en ``eval()`` y se ahorra una pasada por
la memoria en cada capa BN.

- :func:`fold_batchnorm` pliega un par (capa, BN) y devuelve la capa nueva.
- :func:`foldable_pairs` lista los pares plegables de un modelo.
- :func:`fold_model` devuelve una copia del modelo con todos esos pares plegados.

Solo se pliegan pares **consecutivos dentro de un** ``nn.Sequential`` (como en
:class:`~bncourse.torch.RecipeCNN`): el orden de las capas de un ``forward`` escrito a mano no
se conoce sin ejecutarlo.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import torch
from torch import nn

from .._checks import check_bool, describe
from .bn_statistics import BATCHNORM_TYPES
from .training import check_model

__all__ = ["fold_batchnorm", "fold_model", "foldable_pairs"]

# Capa que precede → tipos de BN que le corresponden (SyncBatchNorm sirve para cualquiera).
_PAIRS: dict[type[nn.Module], tuple[type[nn.Module], ...]] = {
    nn.Linear: (nn.BatchNorm1d, nn.SyncBatchNorm),
    nn.Conv1d: (nn.BatchNorm1d, nn.SyncBatchNorm),
    nn.Conv2d: (nn.BatchNorm2d, nn.SyncBatchNorm),
    nn.Conv3d: (nn.BatchNorm3d, nn.SyncBatchNorm),
}


_Layer = nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d
_BatchNorm = nn.modules.batchnorm._BatchNorm


def _layer_kind(layer: object) -> type[nn.Module] | None:
    # type() exacto: ConvTranspose2d no hereda de Conv2d, pero una subclase rara podría
    # cambiar la disposición de los pesos; se aceptan solo las clases estándar.
    if isinstance(layer, nn.Module) and type(layer) in _PAIRS:
        return type(layer)
    return None


def _check_pair(layer: object, bn: object) -> tuple[_Layer, _BatchNorm]:
    """Comprueba el par y lo devuelve con sus tipos: (capa densa o convolución, BN)."""
    kind = _layer_kind(layer)
    if kind is None or not isinstance(layer, _Layer):
        raise TypeError(
            "«layer» debe ser una capa nn.Linear, nn.Conv1d, nn.Conv2d o nn.Conv3d; se recibió "
            f"{describe(layer)}."
        )
    if not isinstance(bn, BATCHNORM_TYPES):
        raise TypeError(
            "«bn» debe ser una capa de normalización por lotes (nn.BatchNorm1d, nn.BatchNorm2d, "
            f"nn.BatchNorm3d o nn.SyncBatchNorm); se recibió {describe(bn)}."
        )
    if not isinstance(bn, _PAIRS[kind]):
        raise TypeError(
            f"Una capa {kind.__name__} no puede ir seguida de {type(bn).__name__}: "
            f"se esperaba {' o '.join(t.__name__ for t in _PAIRS[kind])}."
        )
    out = layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels
    if bn.num_features != out:
        raise ValueError(
            f"Las formas no encajan: la capa {type(layer).__name__} produce {out} canales y la "
            f"capa BN normaliza {bn.num_features}."
        )
    if bn.training:
        raise ValueError(
            "La capa BN está en modo de entrenamiento: ahí normaliza con las estadísticas de cada "
            "minilote y no es una función fija que se pueda plegar. Llame antes a model.eval()."
        )
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(
            "La capa BN no guarda estadísticas de población (track_running_stats=False): "
            "también en evaluación usa las del minilote, así que no se puede plegar."
        )
    return layer, bn


@torch.no_grad()
def fold_batchnorm(layer: nn.Module, bn: nn.Module) -> nn.Module:
    """Devuelve una capa nueva equivalente a ``layer`` seguida de ``bn`` en modo de inferencia.

    Parámetros
    ----------
    layer:
        ``nn.Linear`` o ``nn.Conv1d``/``Conv2d``/``Conv3d`` (con o sin sesgo, con grupos o no).
    bn:
        La capa BN que la sigue (``BatchNorm1d`` tras ``Linear``/``Conv1d``, ``BatchNorm2d``
        tras ``Conv2d``...), en modo de inferencia y con estadísticas de población.

    Devuelve
    --------
    Una copia de ``layer`` (mismo tipo, dispositivo y tipo de datos) con los pesos
    :math:`s_c W_c` y el sesgo :math:`s_c (b_c - \\mu_c) + \\beta_c`. Los argumentos no se
    modifican. Los cálculos se hacen en doble precisión y se redondean al final.

    Errores
    -------
    ``TypeError`` si las capas no son de los tipos esperados; ``ValueError`` si el número de
    canales no coincide, si ``bn`` está en modo de entrenamiento o si no tiene estadísticas de
    población.
    """
    layer, bn = _check_pair(layer, bn)
    assert bn.running_mean is not None and bn.running_var is not None  # _check_pair
    weight = layer.weight.detach().double()
    out = weight.shape[0]
    mean = bn.running_mean.detach().double()
    var = bn.running_var.detach().double()
    gamma = bn.weight.detach().double() if bn.weight is not None else torch.ones_like(mean)
    beta = bn.bias.detach().double() if bn.bias is not None else torch.zeros_like(mean)
    bias = layer.bias.detach().double() if layer.bias is not None else torch.zeros_like(mean)
    scale = gamma / torch.sqrt(var + bn.eps)
    new_weight = weight * scale.view(out, *([1] * (weight.ndim - 1)))
    new_bias = (bias - mean) * scale + beta

    folded = copy.deepcopy(layer)
    dtype, device = layer.weight.dtype, layer.weight.device
    folded.weight = nn.Parameter(new_weight.to(dtype=dtype, device=device))
    folded.bias = nn.Parameter(new_bias.to(dtype=dtype, device=device))
    return folded


def _iter_pairs(
    module: nn.Module, prefix: str = ""
) -> Iterator[tuple[nn.Sequential, str, str, tuple[str, str]]]:
    """Recorre los ``nn.Sequential`` de ``module`` y da (secuencial, índice, nombres) por par."""
    for name, child in module.named_children():
        full = f"{prefix}.{name}" if prefix else name
        if isinstance(child, nn.Sequential):
            items = list(child.named_children())
            for i in range(len(items) - 1):
                (n1, first), (n2, second) = items[i], items[i + 1]
                if _layer_kind(first) is not None and isinstance(second, BATCHNORM_TYPES):
                    yield child, n1, n2, (f"{full}.{n1}", f"{full}.{n2}")
        yield from _iter_pairs(child, full)


def foldable_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """Nombres de los pares (capa, BN) consecutivos en los ``nn.Sequential`` de ``model``.

    Es lo que :func:`fold_model` plegaría, p. ej. ``[("features.0", "features.1"), ...]``.
    """
    model = check_model(model)
    return [names for *_, names in _iter_pairs(model)]


def fold_model(model: nn.Module, *, inplace: bool = False) -> nn.Module:
    """Copia de ``model`` con cada par (capa, BN) plegado en una sola capa, para inferencia.

    Cada capa ``Linear``/``Conv`` seguida de una BN dentro de un ``nn.Sequential`` se sustituye
    por su versión plegada (:func:`fold_batchnorm`) y la BN por ``nn.Identity()``, así que los
    nombres de los submódulos no cambian. El resultado da las mismas salidas que ``model`` en
    modo de inferencia (salvo redondeo, del orden de 1e-6 en ``float32``) y se devuelve en modo
    evaluación. Las BN que no siguen a una de esas capas se dejan como están.

    Parámetros
    ----------
    model:
        La red, en modo de inferencia (``model.eval()``).
    inplace:
        Si es ``True``, modifica ``model`` en lugar de una copia.

    Errores
    -------
    ``ValueError`` si el modelo, o alguna de sus capas BN, está en modo de entrenamiento.
    """
    model = check_model(model)
    inplace = check_bool(inplace, "inplace")
    in_training = [
        name or type(model).__name__
        for name, m in model.named_modules()
        if m.training and (m is model or isinstance(m, BATCHNORM_TYPES))
    ]
    if in_training:
        raise ValueError(
            "El modelo está en modo de entrenamiento (p. ej. "
            f"«{in_training[0]}»): el plegado solo vale para inferencia, donde BN usa las "
            "estadísticas de población. Llame antes a model.eval()."
        )
    target = model if inplace else copy.deepcopy(model)
    for seq, first, second, _ in list(_iter_pairs(target)):
        setattr(seq, first, fold_batchnorm(getattr(seq, first), getattr(seq, second)))
        setattr(seq, second, nn.Identity())
    return target.eval()
