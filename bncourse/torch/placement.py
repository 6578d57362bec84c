"""¿Hace falta BN en todas las capas? Redes con BN solo en algunas capas ocultas.

:func:`keep_batchnorm_in` quita, en el sitio, la BN de las capas ocultas de un
:class:`~bncourse.torch.MLP` que no se nombran, y deja las demás como estaban. Sirve para el
ejercicio de Zhang et al. (*Dive into Deep Learning*, §8.5): comparar BN en todas las capas,
solo en la primera, solo en la última o en ninguna, con el mismo presupuesto.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from .._checks import check_int, describe
from .models import MLP

__all__ = ["keep_batchnorm_in"]


def keep_batchnorm_in(model: nn.Module, layers: Sequence[int]) -> nn.Module:
    """Deja BN solo en las capas ocultas ``layers`` de ``model`` (un :class:`MLP` con BN).

    En las demás capas ocultas, la ``nn.BatchNorm1d`` se sustituye por ``nn.Identity``. Las capas
    lineales no se tocan: para que las capas sin BN tengan sesgo, construya el MLP con
    ``bias=True`` (delante de BN el sesgo es inútil pero inofensivo: BN resta la media, y su
    gradiente es cero). Los índices pueden ser negativos (``-1`` es la última capa oculta).
    Devuelve ``model``.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"«model» debe ser un bncourse.torch.MLP; se recibió {describe(model)}.")
    if isinstance(layers, str) or not isinstance(layers, Sequence):
        raise TypeError(f"«layers» debe ser una lista de índices; se recibió {describe(layers)}.")
    depth = len(model.hidden)
    keep = {check_int(i, "layers", minimum=-depth, maximum=depth - 1) % depth for i in layers}
    blocks: list[nn.Sequential] = []
    for block in model.hidden:
        assert isinstance(block, nn.Sequential)
        blocks.append(block)
    found = [[k for k, m in enumerate(block) if isinstance(m, nn.BatchNorm1d)] for block in blocks]
    if not any(found):
        raise ValueError("«model» no tiene ninguna BN: constrúyalo con norm='batch'.")
    for index in sorted(keep):
        if not found[index]:
            raise ValueError(f"La capa oculta {index} no tiene BN que conservar.")
    for index, block in enumerate(blocks):
        if index not in keep:
            for k in found[index]:
                setattr(block, str(k), nn.Identity())
    return model
