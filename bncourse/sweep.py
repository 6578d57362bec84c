"""Barridos de configuraciones que devuelven una tabla ordenada (*tidy*).

Un barrido recorre una rejilla de configuraciones (por ejemplo, con y sin BN × tasa de
aprendizaje × semilla), entrena una red por configuración con la función que se le pase y
reúne los resultados en un ``pandas.DataFrame`` con **una fila por ejecución y época (o paso)**:
las columnas de la configuración, ``epoch`` o ``step`` y las métricas. Las funciones de dibujo
de este módulo leen esa tabla, así que sirven igual para PyTorch y para Keras. Este módulo no
importa ningún marco de aprendizaje profundo: la función de entrenamiento es del capítulo o de
:mod:`bncourse.torch`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ._checks import check_bool, describe
from .history import History
from .plotting import PALETTE

__all__ = ["expand_grid", "final_rows", "plot_sweep_curves", "plot_sweep_final", "run_sweep"]

_RESERVED = {"epoch", "step", "run", "seconds"}


def expand_grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """Producto cartesiano de los valores de cada eje, en orden: una configuración por elemento.

    ``expand_grid(norm=["none", "batch"], lr=[0.01, 0.1])`` devuelve cuatro diccionarios.
    Cada eje debe ser una lista o tupla no vacía sin valores repetidos.
    """
    if not axes:
        raise ValueError(
            "expand_grid necesita al menos un eje, p. ej. expand_grid(norm=['none', 'batch'])."
        )
    for name, values in axes.items():
        if name in _RESERVED:
            raise ValueError(f"«{name}» es un nombre de columna reservado; use otro nombre de eje.")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise TypeError(
                f"El eje «{name}» debe ser una lista o tupla de valores; se recibió {describe(values)}."
            )
        if len(values) == 0:
            raise ValueError(f"El eje «{name}» está vacío.")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"El eje «{name}» tiene valores repetidos: {list(values)!r}.")
    names = list(axes)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())]


def _rows_from_result(result: Any, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    if isinstance(result, History):
        rows = [{k: v for k, v in row.items() if k != "label"} for row in result.to_rows()]
    elif isinstance(result, Iterable) and not isinstance(result, str | bytes | Mapping):
        rows = [dict(r) for r in result]
        if not all(isinstance(r, dict) for r in rows):
            raise TypeError(
                "La función del barrido debe devolver un History o una lista de diccionarios."
            )
    elif isinstance(result, Mapping):
        rows = [dict(result)]
    else:
        raise TypeError(
            "La función del barrido debe devolver un History, un diccionario o una lista de "
            f"diccionarios; devolvió {describe(result)}."
        )
    for row in rows:
        clash = set(row) & set(config)
        if clash:
            raise ValueError(
                f"Las métricas devueltas repiten columnas de la configuración: {sorted(clash)}."
            )
    return rows


def run_sweep(
    configs: Sequence[Mapping[str, Any]],
    run: Callable[..., Any],
    *,
    verbose: bool = True,
):
    """Ejecuta ``run(**config)`` para cada configuración y devuelve la tabla ordenada.

    Parámetros
    ----------
    configs:
        Lista de configuraciones (diccionarios con las mismas claves), p. ej. la de
        :func:`expand_grid`.
    run:
        Función que entrena con una configuración y devuelve un :class:`~bncourse.History`
        (una fila por época), una lista de diccionarios (una fila por paso, con su columna
        ``step``) o un diccionario (una sola fila).
    verbose:
        Si es ``True``, imprime una línea por configuración terminada.

    Devuelve
    --------
    ``pandas.DataFrame`` con la columna ``run`` (número de ejecución), las columnas de la
    configuración y las de las métricas, y el atributo ``attrs["seconds"]`` con la duración de
    cada ejecución.
    """
    import pandas as pd

    if not callable(run):
        raise TypeError(f"«run» debe ser una función; se recibió {describe(run)}.")
    verbose = check_bool(verbose, "verbose")
    if isinstance(configs, Mapping) or not isinstance(configs, Sequence) or not configs:
        raise TypeError("«configs» debe ser una lista no vacía de configuraciones (diccionarios).")
    keys = None
    for config in configs:
        if not isinstance(config, Mapping):
            raise TypeError(
                f"Cada configuración debe ser un diccionario; se recibió {describe(config)}."
            )
        if keys is None:
            keys = list(config)
        elif set(config) != set(keys):
            raise ValueError(
                f"Todas las configuraciones deben tener las mismas claves; {sorted(config)} ≠ {sorted(keys)}."
            )
    rows, seconds = [], []
    for i, config in enumerate(configs):
        start = time.perf_counter()
        result = run(**config)
        seconds.append(time.perf_counter() - start)
        for row in _rows_from_result(result, config):
            rows.append({"run": i, **config, **row})
        if verbose:
            desc = ", ".join(f"{k}={v}" for k, v in config.items())
            print(f"[{i + 1}/{len(configs)}] {desc}", flush=True)
    table = pd.DataFrame(rows)
    table.attrs["seconds"] = seconds
    return table


def final_rows(table, *, by: str | None = None):
    """Última fila de cada ejecución (la última época o el último paso) de una tabla de barrido."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame) or "run" not in table:
        raise TypeError("«table» debe ser la tabla (DataFrame con columna «run») de run_sweep.")
    order = by or ("step" if "step" in table else "epoch" if "epoch" in table else None)
    if order is not None:
        table = table.sort_values(["run", order], kind="stable")
    return table.groupby("run", sort=True).tail(1).reset_index(drop=True)


def _check_columns(table, *names: str | None) -> None:
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"«table» debe ser un pandas.DataFrame; se recibió {describe(table)}.")
    missing = [n for n in names if n is not None and n not in table.columns]
    if missing:
        raise ValueError(f"La tabla no tiene las columnas {missing}; tiene {list(table.columns)}.")


def plot_sweep_curves(
    table,
    *,
    x: str,
    y: str,
    hue: str,
    ax=None,
    xlabel=None,
    ylabel=None,
    title=None,
    percent: bool = False,
    logy: bool = False,
):
    """Métrica ``y`` frente a ``x`` (época o paso), una curva por valor de ``hue``.

    Si hay varias ejecuciones por valor de ``hue`` (p. ej. varias semillas), dibuja la media y
    una banda con el mínimo y el máximo. Devuelve los ejes.
    """
    import matplotlib.pyplot as plt

    _check_columns(table, x, y, hue)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    scale = 100.0 if percent else 1.0
    for k, (value, group) in enumerate(table.groupby(hue, sort=False)):
        stats = group.groupby(x)[y].agg(["mean", "min", "max"]) * scale
        color = PALETTE[k % len(PALETTE)]
        ax.plot(stats.index, stats["mean"], color=color, label=str(value))
        if group["run"].nunique() > 1:
            ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2)
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel or x, ylabel=ylabel or y)
    if title:
        ax.set_title(title)
    ax.legend(title=hue)
    return ax


def plot_sweep_final(
    table,
    *,
    x: str,
    y: str,
    hue: str,
    ax=None,
    logx: bool = False,
    xlabel=None,
    ylabel=None,
    title=None,
    percent: bool = False,
):
    """Valor final de ``y`` frente a un parámetro barrido ``x``, una curva por valor de ``hue``.

    Toma la última fila de cada ejecución; con varias semillas dibuja la media y barras con el
    mínimo y el máximo. Devuelve los ejes.
    """
    import matplotlib.pyplot as plt

    _check_columns(table, x, y, hue)
    final = final_rows(table)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    scale = 100.0 if percent else 1.0
    for k, (value, group) in enumerate(final.groupby(hue, sort=False)):
        stats = group.groupby(x)[y].agg(["mean", "min", "max"]) * scale
        color = PALETTE[k % len(PALETTE)]
        yerr = np.vstack([stats["mean"] - stats["min"], stats["max"] - stats["mean"]])
        ax.errorbar(
            stats.index,
            stats["mean"],
            yerr=yerr,
            color=color,
            marker="o",
            capsize=3,
            label=str(value),
        )
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel or x, ylabel=ylabel or y)
    if title:
        ax.set_title(title)
    ax.legend(title=hue)
    return ax

