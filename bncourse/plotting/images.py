"""Rejillas de imágenes con su clase como rótulo (MNIST y CIFAR-10)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._checks import check_array, check_int, describe

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["image_grid"]


def image_grid(
    images: np.ndarray,
    labels: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    title: str | None = None,
) -> Figure:
    """Dibuja una rejilla de imágenes con su clase como rótulo y devuelve la figura.

    Parámetros
    ----------
    images:
        Arreglo ``uint8`` o real de forma ``(N, H, W)`` (escala de grises) o ``(N, H, W, 3)``
        (RGB, canales al final), con ``1 <= N <= 200``.
    labels:
        Etiquetas enteras ``(N,)`` opcionales; con ``class_names`` se muestran sus nombres.
    class_names:
        Nombres de las clases, indexados por etiqueta.
    ncols:
        Número de columnas de la rejilla.
    title:
        Título opcional de la figura.
    """
    import matplotlib.pyplot as plt

    images = check_array(images, "images", ndim=(3, 4), dtype=np.number, finite=True)
    if images.ndim == 4 and images.shape[-1] != 3:
        raise ValueError(
            f"«images» con 4 dimensiones debe tener 3 canales al final (N, H, W, 3); tiene forma "
            f"{images.shape}."
        )
    if images.ndim == 4 and images.size:
        low, high = (0.0, 1.0) if np.issubdtype(images.dtype, np.floating) else (0, 255)
        if images.min() < low or images.max() > high:
            raise ValueError(
                f"«images» en color de tipo {images.dtype} debe tener valores entre {low} y "
                f"{high}; tiene valores entre {images.min()} y {images.max()} (¿falta deshacer "
                "la normalización?)."
            )
    n = len(images)
    if not 1 <= n <= 200:
        raise ValueError(f"«images» debe contener entre 1 y 200 imágenes; contiene {n}.")
    ncols = check_int(ncols, "ncols", minimum=1, maximum=50)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"«title» debe ser una cadena o None; se recibió {describe(title)}.")
    if labels is not None:
        labels = check_array(labels, "labels", ndim=1, dtype=np.integer)
        if len(labels) != n:
            raise ValueError(
                f"«labels» debe tener una etiqueta por imagen ({n}); tiene {len(labels)}."
            )
    if class_names is not None:
        if isinstance(class_names, str) or not isinstance(class_names, Sequence):
            raise TypeError(
                f"«class_names» debe ser una secuencia de nombres; se recibió {describe(class_names)}."
            )
        if not all(isinstance(c, str) for c in class_names):
            raise TypeError("«class_names» debe contener solo cadenas (un nombre por clase).")
        if labels is None:
            raise ValueError("«class_names» solo tiene sentido si se pasan «labels».")
        if labels.min() < 0:
            raise ValueError(
                f"«labels» debe contener etiquetas no negativas para indexar «class_names»; la "
                f"menor es {labels.min()}."
            )
        if labels.max() >= len(class_names):
            raise ValueError(
                f"«labels» contiene la etiqueta {labels.max()}, pero «class_names» solo tiene "
                f"{len(class_names)} nombres."
            )
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(1.1 * ncols, 1.25 * nrows + (0.3 if title else 0)), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray" if images.ndim == 3 else None, interpolation="nearest")
        if labels is not None:
            name = class_names[labels[i]] if class_names is not None else str(labels[i])
            ax.set_title(name, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig
