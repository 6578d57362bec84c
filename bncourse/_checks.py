"""Comprobaciones de argumentos compartidas por todo el paquete.

Cada función lanza ``TypeError`` o ``ValueError`` con un mensaje en español que dice qué se
esperaba y qué se recibió. Los módulos públicos las usan para validar sus argumentos antes de
hacer cualquier cálculo.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

# Nombres en español de las categorías de tipos de NumPy (con el nombre de NumPy entre paréntesis).
_DTYPE_NAMES = {
    np.integer: "entero (integer)",
    np.signedinteger: "entero con signo (signedinteger)",
    np.unsignedinteger: "entero sin signo (unsignedinteger)",
    np.floating: "real de coma flotante (floating)",
    np.number: "numérico (number)",
    np.bool_: "booleano (bool)",
}


def describe(value: Any) -> str:
    """Describe brevemente un valor para los mensajes de error."""
    if isinstance(value, np.ndarray):
        return f"un arreglo de forma {value.shape} y tipo {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} (de tipo {type(value).__name__})"


def check_int(
    value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Comprueba que ``value`` sea un entero (no booleano) dentro de ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"«{name}» debe ser un número entero; se recibió {describe(value)}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"«{name}» debe ser mayor o igual que {minimum}; se recibió {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"«{name}» debe ser menor o igual que {maximum}; se recibió {value}.")
    return value


def check_float(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
) -> float:
    """Comprueba que ``value`` sea un número real finito dentro del intervalo indicado.

    Con ``strict_minimum=True`` el mínimo queda excluido (por ejemplo, ``eps > 0``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"«{name}» debe ser un número real; se recibió {describe(value)}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"«{name}» debe ser un número finito; se recibió {value}.")
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise ValueError(f"«{name}» debe ser mayor que {minimum}; se recibió {value}.")
        if not strict_minimum and value < minimum:
            raise ValueError(f"«{name}» debe ser mayor o igual que {minimum}; se recibió {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"«{name}» debe ser menor o igual que {maximum}; se recibió {value}.")
    return value


def check_bool(value: Any, name: str) -> bool:
    """Comprueba que ``value`` sea ``True`` o ``False``."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"«{name}» debe ser True o False; se recibió {describe(value)}.")
    return bool(value)


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """Comprueba que ``value`` sea una de las opciones permitidas."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"«{name}» debe ser una de estas opciones: {options}; se recibió {value!r}."
        )
    return value


def check_array(
    value: Any,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    dtype: Any = None,
    finite: bool = False,
) -> np.ndarray:
    """Comprueba que ``value`` sea un ``numpy.ndarray`` con el número de dimensiones y el tipo pedidos.

    ``dtype`` puede ser un tipo concreto (``np.uint8``) o una categoría (``np.floating``).
    Con ``finite=True`` rechaza NaN e infinitos.
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(f"«{name}» debe ser un numpy.ndarray; se recibió {describe(value)}.")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.ndim not in allowed:
            expected = " o ".join(str(d) for d in allowed)
            noun = "dimensión" if allowed == (1,) else "dimensiones"
            raise ValueError(
                f"«{name}» debe tener {expected} {noun}; tiene {value.ndim} (forma {value.shape})."
            )
    if dtype is not None and not np.issubdtype(value.dtype, dtype):
        wanted = _DTYPE_NAMES.get(dtype)
        if wanted is None:
            try:
                wanted = str(np.dtype(dtype))
            except TypeError:
                wanted = getattr(dtype, "__name__", str(dtype))
        raise TypeError(f"«{name}» debe ser de tipo {wanted}; es de tipo {value.dtype}.")
    if finite and np.issubdtype(value.dtype, np.number) and not np.all(np.isfinite(value)):
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        raise ValueError(
            f"«{name}» contiene {bad} valores no finitos (NaN o infinito); se esperaban solo "
            "números finitos."
        )
    return value


def check_labels(value: Any, name: str, num_classes: int) -> np.ndarray:
    """Comprueba que ``value`` sea un vector de etiquetas enteras en ``[0, num_classes)``."""
    labels = check_array(value, name, ndim=1, dtype=np.integer)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"«{name}» debe contener etiquetas enteras entre 0 y {num_classes - 1}; "
            f"se encontraron valores entre {labels.min()} y {labels.max()}."
        )
    return labels
