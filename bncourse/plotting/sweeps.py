"""Las figuras de un barrido (:mod:`bncourse.sweep`): métrica frente al paso o la época, y valor
final frente a un parámetro barrido, con la media y el intervalo de las semillas.

Los rótulos de los ejes y el título de la leyenda están en español por defecto
(:func:`axis_label`): las columnas de las tablas del curso tienen su nombre en
:data:`AXIS_LABELS`, y una columna propia usa su nombre con la primera letra en mayúscula (llámela
en español o dé ``xlabel``, ``ylabel`` y ``legend_title``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_bool
from ..sweep import check_table, summarize_final
from .style import PALETTE

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["AXIS_LABELS", "axis_label", "plot_sweep_curves", "plot_sweep_final"]

AXIS_LABELS: dict[str, str] = {
    "run": "Ejecución",
    "step": "Paso de entrenamiento",
    "epoch": "Época",
    "seconds": "Tiempo (s)",
    "train_loss": "Pérdida de entrenamiento",
    "train_eval_loss": "Pérdida de entrenamiento (modo de inferencia)",
    "test_loss": "Pérdida de prueba",
    "train_accuracy": "Exactitud de entrenamiento",
    "test_accuracy": "Exactitud de prueba",
    "lr": "Tasa de aprendizaje",
    "batch_size": "Tamaño del minilote",
    "seed": "Semilla",
    "norm": "Normalización",
    "activation": "Activación",
    "optimizer": "Optimizador",
    "momentum": "Momento",
    "weight_decay": "Decaimiento de los pesos",
    "init_std": "Desviación típica de los pesos iniciales",
    "dropout": "Probabilidad de dropout",
    "hidden": "Capas ocultas",
    "ghost": "Tamaño del grupo fantasma",
    "noisy": "Ruido de BN",
    "steps": "Pasos",
    "loss_range": "Variación de la pérdida",
    "grad_change_max": "Cambio máximo del gradiente",
    "grad_change_min": "Cambio mínimo del gradiente",
    "grad_norm": "Norma del gradiente",
    "beta": "β-suavidad efectiva",
    "p15": "Percentil 15",
    "p50": "Mediana",
    "p85": "Percentil 85",
}
"""Rótulo en español de cada columna de las tablas de barrido del curso."""

_ACCURACIES = {"train_accuracy", "test_accuracy"}


def axis_label(column: str, *, percent: bool = False) -> str:
    """Rótulo en español de ``column``; con ``percent=True``, con « (%)» al final."""
    label = AXIS_LABELS.get(column)
    if label is None:
        text = column.replace("_", " ").strip()
        label = text[:1].upper() + text[1:]
    return f"{label} (%)" if percent else label


def _label(value: Any, labels: Mapping[Any, str] | None) -> str:
    if labels is not None and value in labels:
        return labels[value]
    return str(value)


def _color(value: Any, k: int, colors: Mapping[Any, str] | None) -> str:
    if colors is not None and value in colors:
        return colors[value]
    return PALETTE[k % len(PALETTE)]


def _hue_groups(
    table: pd.DataFrame, hue: str, order: Sequence[Any] | None
) -> list[tuple[Any, pd.DataFrame]]:
    groups = dict(list(table.groupby(hue, sort=False)))
    keys = list(groups) if order is None else [v for v in order if v in groups]
    return [(k, groups[k]) for k in keys]


def plot_sweep_curves(
    table: pd.DataFrame,
    *,
    x: str,
    y: str,
    hue: str,
    ax: Axes | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    percent: bool = False,
    logy: bool = False,
    labels: Mapping[Any, str] | None = None,
    order: Sequence[Any] | None = None,
    legend_title: str | None = None,
    colors: Mapping[Any, str] | None = None,
) -> Axes:
    """Métrica ``y`` frente a ``x`` (época o paso), una curva por valor de ``hue``.

    Si hay varias ejecuciones por valor de ``hue`` (p. ej. varias semillas), dibuja la media y
    una banda con el mínimo y el máximo. ``labels`` traduce los valores de ``hue`` para la
    leyenda (p. ej. ``{"none": "sin BN", "batch": "con BN"}``), ``order`` fija su orden y
    ``colors`` su color (por defecto, la paleta del libro en ese orden); ``percent=True``
    multiplica ``y`` por 100. Los rótulos y el título de la leyenda son, si no se dan, los de
    :func:`axis_label` (en español). Devuelve los ejes.
    """
    import matplotlib.pyplot as plt

    check_table(table, x, y, hue)
    percent = check_bool(percent, "percent")
    logy = check_bool(logy, "logy")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    scale = 100.0 if percent else 1.0
    for k, (value, group) in enumerate(_hue_groups(table, hue, order)):
        stats = group.groupby(x)[y].agg(["mean", "min", "max"]) * scale
        color = _color(value, k, colors)
        ax.plot(stats.index, stats["mean"], color=color, label=_label(value, labels))
        if group["run"].nunique() > 1:
            ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2)
    if logy:
        ax.set_yscale("log")
    return _finish_axes(ax, x, y, hue, xlabel, ylabel, title, legend_title, percent)


def plot_sweep_final(
    table: pd.DataFrame,
    *,
    x: str,
    y: str,
    hue: str,
    ax: Axes | None = None,
    logx: bool = False,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    percent: bool = False,
    labels: Mapping[Any, str] | None = None,
    order: Sequence[Any] | None = None,
    legend_title: str | None = None,
    colors: Mapping[Any, str] | None = None,
) -> Axes:
    """Valor final de ``y`` frente a un parámetro barrido ``x``, una curva por valor de ``hue``.

    Toma la última fila de cada ejecución (:func:`summarize_final`); con varias semillas dibuja
    la media y barras con el mínimo y el máximo. ``labels``, ``order``, ``colors`` y ``percent``
    como en
    :func:`plot_sweep_curves`; ``logx=True`` usa una escala logarítmica en ``x``. Devuelve
    los ejes.
    """
    import matplotlib.pyplot as plt

    check_table(table, x, y, hue)
    percent = check_bool(percent, "percent")
    logx = check_bool(logx, "logx")
    stats_all = summarize_final(table, x=x, y=y, hue=hue)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    scale = 100.0 if percent else 1.0
    for k, (value, group) in enumerate(_hue_groups(stats_all, hue, order)):
        group = group.sort_values(x)
        mean, low, high = (group[c].to_numpy(dtype=float) * scale for c in ("mean", "min", "max"))
        color = _color(value, k, colors)
        yerr = np.vstack([mean - low, high - mean])
        ax.errorbar(
            group[x].to_numpy(),
            mean,
            yerr=yerr if np.any(yerr > 0) else None,
            color=color,
            marker="o",
            capsize=3,
            label=_label(value, labels),
        )
    if logx:
        ax.set_xscale("log")
    return _finish_axes(ax, x, y, hue, xlabel, ylabel, title, legend_title, percent)


def _finish_axes(
    ax: Axes,
    x: str,
    y: str,
    hue: str,
    xlabel: str | None,
    ylabel: str | None,
    title: str | None,
    legend_title: str | None,
    percent: bool,
) -> Axes:
    # Rótulos, título y leyenda comunes a las dos figuras de un barrido; por defecto, en español.
    ax.set(
        xlabel=xlabel or axis_label(x),
        ylabel=ylabel or axis_label(y, percent=percent and y in _ACCURACIES),
    )
    if title:
        ax.set_title(title)
    ax.legend(title=legend_title if legend_title is not None else axis_label(hue))
    return ax
