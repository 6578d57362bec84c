"""Curvas de entrenamiento por época: las de un :class:`~bncourse.History` de PyTorch o de Keras."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._checks import describe
from ..history import History
from .style import PALETTE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_history"]

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
            for split, style, word in (("train", "--o", "entrenamiento"), ("test", "-o", "prueba")):
                ax.plot(
                    h.epoch,
                    np.multiply(getattr(h, f"{split}_{metric}"), scale),
                    style,
                    color=color,
                    markersize=3,
                    label=f"{name} ({word})",
                )
        ax.set_xlabel("Época")
        ax.set_ylabel(_METRIC_NAMES[metric])
        ax.set_title(_METRIC_NAMES[metric].replace(" (%)", ""))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig
