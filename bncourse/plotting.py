"""Estilo de las figuras del libro y gráficos comunes a todos los capítulos.

Todas las figuras usan la paleta de Okabe e Ito, pensada para ser distinguible por personas con
daltonismo, y rótulos en español. Llame a :func:`set_book_style` al principio de cada capítulo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ._checks import check_array, check_int, describe
from .history import History

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PALETTE", "image_grid", "plot_history", "set_book_style"]

PALETTE: tuple[str, ...] = (
    "#0072B2",  # azul
    "#D55E00",  # bermellón
    "#009E73",  # verde azulado
    "#CC79A7",  # púrpura rojizo
    "#E69F00",  # naranja
    "#56B4E9",  # celeste
    "#F0E442",  # amarillo
    "#000000",  # negro
)
"""Paleta de Okabe e Ito (2008), segura para la visión de color atípica."""


def set_book_style() -> None:
    """Aplica el estilo común del libro a matplotlib: paleta, tamaños, rejilla y resolución.

    Las cifras usan punto decimal, como las salidas impresas por Python, para que lo impreso y lo
    dibujado coincidan.
    """
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=list(PALETTE)),
            "figure.figsize": (8.0, 4.0),
            "figure.dpi": 90,
            "savefig.dpi": 90,
            "figure.constrained_layout.use": True,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "legend.fontsize": 9,
            "legend.frameon": False,
            "font.size": 10,
            "image.cmap": "gray",
            "svg.hashsalt": "bncourse",
        }
    )


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


_METRIC_NAMES = {"loss": "Pérdida", "accuracy": "Exactitud (%)"}


def plot_history(
    histories: History | Sequence[History] | Mapping[str, History],
    *,
    metrics: Sequence[str] = ("loss", "accuracy"),
    title: str | None = None,
) -> Figure:
    """Curvas de pérdida y exactitud por época, en entrenamiento (discontinua) y prueba (continua).

    Sirve para los historiales de PyTorch y de Keras, que tienen la misma forma
    (:class:`~bncourse.history.History`). Cada configuración recibe un color de la paleta.

    Parámetros
    ----------
    histories:
        Un historial, una lista de historiales o un diccionario ``{etiqueta: historial}``.
    metrics:
        Paneles que dibujar, de entre ``"loss"`` y ``"accuracy"``.
    title:
        Título opcional de la figura.

    Devuelve
    --------
    La figura de matplotlib, con un panel por métrica.
    """
    import matplotlib.pyplot as plt

    if isinstance(histories, History):
        items = [(histories.label, histories)]
    elif isinstance(histories, Mapping):
        items = list(histories.items())
        for label, _ in items:
            if not isinstance(label, str):
                raise TypeError(
                    f"Las claves de «histories» deben ser cadenas (etiquetas); se recibió "
                    f"{describe(label)}."
                )
    elif isinstance(histories, Sequence) and not isinstance(histories, str):
        items = [(h.label if isinstance(h, History) else "", h) for h in histories]
    else:
        raise TypeError(
            "«histories» debe ser un History, una lista de History o un diccionario "
            f"{{etiqueta: History}}; se recibió {describe(histories)}."
        )
    if not items:
        raise ValueError("«histories» está vacío: no hay nada que dibujar.")
    for label, h in items:
        if not isinstance(h, History):
            raise TypeError(f"Cada historial debe ser un History; se recibió {describe(h)}.")
        if len(h) == 0:
            raise ValueError(f"El historial «{label}» no tiene ninguna época.")
    if isinstance(metrics, str) or not isinstance(metrics, Sequence):
        raise TypeError(
            "«metrics» debe ser una lista o tupla con 'loss' y/o 'accuracy'; se recibió "
            f"{describe(metrics)}."
        )
    if not metrics:
        raise ValueError("«metrics» debe ser una lista no vacía con 'loss' y/o 'accuracy'.")
    for m in metrics:
        if m not in _METRIC_NAMES:
            raise ValueError(f"Métrica desconocida {m!r}; las opciones son 'loss' y 'accuracy'.")
    if len(set(metrics)) != len(metrics):
        raise ValueError(f"«metrics» tiene métricas repetidas: {list(metrics)!r}.")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"«title» debe ser una cadena o None; se recibió {describe(title)}.")

    fig, axes = plt.subplots(1, len(metrics), figsize=(5.0 * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        scale = 100.0 if metric == "accuracy" else 1.0
        for k, (label, h) in enumerate(items):
            color = PALETTE[k % len(PALETTE)]
            name = label or f"configuración {k + 1}"
            ax.plot(
                h.epoch,
                np.multiply(getattr(h, f"train_{metric}"), scale),
                "--o",
                color=color,
                markersize=3,
                label=f"{name} (entrenamiento)",
            )
            ax.plot(
                h.epoch,
                np.multiply(getattr(h, f"test_{metric}"), scale),
                "-o",
                color=color,
                markersize=3,
                label=f"{name} (prueba)",
            )
        ax.set_xlabel("Época")
        ax.set_ylabel(_METRIC_NAMES[metric])
        ax.set_title(_METRIC_NAMES[metric].replace(" (%)", ""))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig
