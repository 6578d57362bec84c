"""Barridos de configuraciones que devuelven una tabla ordenada (*tidy*).

Un barrido recorre una rejilla de configuraciones (por ejemplo, con y sin BN × tasa de
aprendizaje × semilla), entrena una red por configuración con la función que se le pase y
reúne los resultados en un ``pandas.DataFrame`` con **una fila por ejecución y época (o paso)**:
las columnas de la configuración, ``epoch`` o ``step`` y las métricas. Las funciones de este
módulo leen esa tabla, así que sirven igual para PyTorch y para Keras:

- :func:`expand_grid` y :func:`run_sweep` construyen y ejecutan el barrido;
- :func:`final_rows`, :func:`summarize_final` y :func:`first_reaching` la resumen;
- :func:`bncourse.plotting.plot_sweep_curves` (métrica frente a época o paso) y
  :func:`bncourse.plotting.plot_sweep_final` (valor final frente a un parámetro barrido) la
  dibujan; también se pueden importar desde aquí, como siempre.

Este módulo no importa ningún marco de aprendizaje profundo: la función de entrenamiento es del
capítulo o de :mod:`bncourse.torch` (p. ej. :class:`bncourse.torch.experiments.MNISTRun`).
"""

from __future__ import annotations

import inspect
import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._checks import check_bool, check_float, describe
from .history import History

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "expand_grid",
    "final_rows",
    "first_reaching",
    "run_sweep",
    "summarize_final",
]

# Las figuras viven en bncourse.plotting (que importa este módulo); se sirven también desde
# aquí, al pedirlas, para que ``from bncourse.sweep import plot_sweep_curves`` siga valiendo.
_FIGURES = ("plot_sweep_curves", "plot_sweep_final")


def __getattr__(name: str) -> Any:
    if name in _FIGURES:
        from . import plotting

        return getattr(plotting, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_RESERVED = {"epoch", "step", "run", "seconds"}


def expand_grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """Producto cartesiano de los valores de cada eje, en orden: una configuración por elemento.

    ``expand_grid(norm=["none", "batch"], lr=[0.01, 0.1])`` devuelve cuatro diccionarios, con
    el último eje variando más deprisa: ``{"norm": "none", "lr": 0.01}``,
    ``{"norm": "none", "lr": 0.1}``, ``{"norm": "batch", "lr": 0.01}``, ...
    Cada eje debe ser una lista o tupla no vacía sin valores repetidos, y ningún eje puede
    llamarse como una columna reservada de la tabla (``run``, ``epoch``, ``step``,
    ``seconds``).
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
    elif isinstance(result, Mapping):
        rows = [dict(result)]
    elif isinstance(result, Iterable) and not isinstance(result, str | bytes):
        rows = list(result)
        if not rows or not all(isinstance(r, Mapping) for r in rows):
            raise TypeError(
                "La función del barrido debe devolver un History o una lista no vacía de "
                "diccionarios."
            )
        rows = [dict(r) for r in rows]
    else:
        raise TypeError(
            "La función del barrido debe devolver un History, un diccionario o una lista de "
            f"diccionarios; devolvió {describe(result)}."
        )
    for row in rows:
        clash = set(row) & (set(config) | {"run"})
        if clash:
            raise ValueError(
                f"Las métricas devueltas repiten columnas de la configuración: {sorted(clash)}."
            )
    return rows


def _check_signature(run: Callable[..., Any], keys: Sequence[str]) -> None:
    """Comprueba, antes de entrenar nada, que ``run`` acepta exactamente esas claves."""
    try:
        signature = inspect.signature(run)
    except (TypeError, ValueError):  # funciones sin firma legible: se confía en ellas
        return
    params = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        accepted = None
    else:
        accepted = {
            p.name
            for p in params
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        }
    unknown = sorted(set(keys) - accepted) if accepted is not None else []
    if unknown and accepted is not None:
        raise ValueError(
            f"La configuración tiene claves que «run» no acepta: {unknown}. Acepta: "
            f"{sorted(accepted)}."
        )
    missing = sorted(
        p.name
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and p.name not in keys
    )
    if missing:
        raise ValueError(
            f"A la configuración le faltan argumentos obligatorios de «run»: {missing}."
        )


def run_sweep(
    configs: Sequence[Mapping[str, Any]],
    run: Callable[..., Any],
    *,
    verbose: bool = True,
) -> pd.DataFrame:
    """Ejecuta ``run(**config)`` para cada configuración y devuelve la tabla ordenada.

    Antes de entrenar nada comprueba que todas las configuraciones tienen las mismas claves y
    que ``run`` las acepta (por su firma), para que un error de escritura no aparezca después
    de minutos de cálculo. Si una ejecución falla, el error original se propaga con una nota
    que dice qué configuración lo causó.

    Parámetros
    ----------
    configs:
        Lista de configuraciones (diccionarios con las mismas claves), p. ej. la de
        :func:`expand_grid`.
    run:
        Función que entrena con una configuración y devuelve un :class:`~bncourse.History`
        (una fila por época), una lista de diccionarios (una fila por paso, con su columna
        ``step``) o un diccionario (una sola fila). Debe fijar sus propias semillas (p. ej.
        con una clave ``seed``) para que el barrido sea reproducible.
    verbose:
        Si es ``True``, imprime una línea por configuración terminada.

    Devuelve
    --------
    ``pandas.DataFrame`` con la columna ``run`` (número de ejecución, desde 0), las columnas de
    la configuración y las de las métricas, y los atributos ``attrs["seconds"]`` (duración de
    cada ejecución, en segundos) y ``attrs["config"]`` (nombres de las columnas de la
    configuración).
    """
    import pandas as pd

    if not callable(run):
        raise TypeError(f"«run» debe ser una función; se recibió {describe(run)}.")
    verbose = check_bool(verbose, "verbose")
    if isinstance(configs, Mapping | str) or not isinstance(configs, Sequence) or not configs:
        raise TypeError(
            "«configs» debe ser una lista no vacía de configuraciones (diccionarios); se recibió "
            f"{describe(configs)}."
        )
    keys: list[str] | None = None
    for config in configs:
        if not isinstance(config, Mapping):
            raise TypeError(
                f"Cada configuración debe ser un diccionario; se recibió {describe(config)}."
            )
        bad = [k for k in config if not isinstance(k, str)]
        if bad:
            raise TypeError(f"Las claves de una configuración deben ser cadenas; hay {bad!r}.")
        reserved = sorted(set(config) & _RESERVED)
        if reserved:
            raise ValueError(
                f"La configuración usa nombres de columna reservados: {reserved}; cámbielos."
            )
        if keys is None:
            keys = list(config)
        elif set(config) != set(keys):
            raise ValueError(
                "Todas las configuraciones deben tener las mismas claves; "
                f"{sorted(config)} ≠ {sorted(keys)}."
            )
    assert keys is not None
    _check_signature(run, keys)
    rows, seconds = [], []
    for i, config in enumerate(configs):
        desc = ", ".join(f"{k}={v}" for k, v in config.items())
        start = time.perf_counter()
        try:
            result = run(**config)
            new_rows = _rows_from_result(result, config)
        except Exception as exc:
            exc.add_note(f"Falló la configuración {i + 1} de {len(configs)}: {desc}.")
            raise
        seconds.append(time.perf_counter() - start)
        for row in new_rows:
            rows.append({"run": i, **config, **row})
        if verbose:
            print(f"[{i + 1}/{len(configs)}] {desc}", flush=True)
    table = pd.DataFrame(rows)
    table.attrs["seconds"] = seconds
    table.attrs["config"] = list(keys)
    return table


def check_table(table: Any, *names: str | None) -> None:
    import pandas as pd

    if not isinstance(table, pd.DataFrame) or "run" not in table.columns:
        raise TypeError(
            "«table» debe ser la tabla de run_sweep (un pandas.DataFrame con columna «run»); se "
            f"recibió {describe(table)}."
        )
    missing = [n for n in names if n is not None and n not in table.columns]
    if missing:
        raise ValueError(f"La tabla no tiene las columnas {missing}; tiene {list(table.columns)}.")


def _order_column(table: pd.DataFrame, by: str | None) -> str | None:
    if by is not None:
        check_table(table, by)
        return by
    return "step" if "step" in table.columns else "epoch" if "epoch" in table.columns else None


def final_rows(table: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """Última fila de cada ejecución (la última época o el último paso) de una tabla de barrido.

    ``by`` es la columna que ordena las filas de cada ejecución; por defecto ``step`` o
    ``epoch``, la que exista. Una ejecución que se detuvo antes (p. ej. porque divergió) aporta
    la última fila que registró.
    """
    check_table(table)
    order = _order_column(table, by)
    if order is not None:
        table = table.sort_values(["run", order], kind="stable")
    return table.groupby("run", sort=True).tail(1).reset_index(drop=True)


def summarize_final(table: pd.DataFrame, *, x: str, y: str, hue: str | None = None) -> pd.DataFrame:
    """Media, mínimo, máximo y número de ejecuciones del valor final de ``y`` por ``hue`` y ``x``.

    Toma la última fila de cada ejecución (:func:`final_rows`) y la agrupa por ``hue`` (si se
    da) y por ``x``, p. ej. por normalización y tasa de aprendizaje, con las semillas como
    repeticiones. Devuelve un ``DataFrame`` con las columnas ``hue``, ``x``, ``mean``, ``min``,
    ``max`` y ``count``, en el orden en que aparecen en la tabla.
    """
    check_table(table, x, y, hue)
    final = final_rows(table)
    keys = [hue, x] if hue is not None else [x]
    stats = final.groupby(keys, sort=False)[y].agg(["mean", "min", "max", "count"])
    return stats.reset_index()


def first_reaching(
    table: pd.DataFrame, *, y: str, threshold: float, x: str | None = None
) -> pd.DataFrame:
    """Primer valor de ``x`` (paso o época) en que ``y`` alcanza ``threshold``, por ejecución.

    Devuelve un ``DataFrame`` con una fila por ejecución: las columnas de la configuración y
    ``reached``, el primer ``x`` con ``y >= threshold``, o ``inf`` si no lo alcanzó nunca.
    """
    check_table(table, y)
    threshold = check_float(threshold, "threshold")
    x = _order_column(table, x)
    if x is None:
        raise ValueError("La tabla no tiene columna «step» ni «epoch»; indique «x».")
    config_columns = [c for c in _config_columns(table) if c != x]
    out = []
    for _, group in table.sort_values(["run", x], kind="stable").groupby("run", sort=True):
        hit = group[group[y] >= threshold]
        row = group.iloc[0][config_columns].to_dict()
        row["reached"] = float(hit[x].iloc[0]) if len(hit) else math.inf
        out.append(row)
    import pandas as pd

    return pd.DataFrame(out)


def _config_columns(table: pd.DataFrame) -> list[str]:
    """Columnas de la configuración: las de ``attrs["config"]`` o, si no están, las constantes
    dentro de cada ejecución (con valores comparables)."""
    names = table.attrs.get("config")
    if names is not None and all(n in table.columns for n in names):
        return ["run", *names]
    out = ["run"]
    for column in table.columns:
        if column == "run":
            continue
        try:
            constant = bool(table.groupby("run")[column].nunique(dropna=False).le(1).all())
        except TypeError:  # valores no comparables (diccionarios, listas): se tratan como config.
            constant = True
        if constant:
            out.append(column)
    return out
