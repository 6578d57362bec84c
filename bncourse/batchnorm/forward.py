"""Pasada hacia delante de la BN de referencia y la caché que guarda para la retropropagación.

También las comprobaciones de formas y tipos que comparten los módulos de :mod:`bncourse.batchnorm`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_array, check_choice, check_float

__all__ = ["BatchNormCache", "batchnorm_forward"]

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_MODES = ("train", "inference")


@dataclass(frozen=True, eq=False)
class BatchNormCache:
    """Lo que guarda la pasada hacia delante para la pasada hacia atrás.

    Los vectores por característica tienen forma ``(C,)`` (``C = D`` en la forma ``(N, D)``);
    los arreglos por elemento tienen la forma de ``x``. Todo tiene el tipo de ``x``.

    Atributos
    ---------
    mode:
        ``"train"`` (estadísticas del minilote) o ``"inference"`` (estadísticas de población).
    x_hat:
        Entrada normalizada :math:`\\hat x = (x - \\mu)/\\sqrt{\\sigma^2 + \\varepsilon}`.
    x_centered:
        Entrada centrada :math:`x - \\mu`.
    mean:
        Media usada, :math:`\\mu`: la del minilote en entrenamiento, la de población en
        inferencia.
    var:
        Varianza usada, :math:`\\sigma^2`: la **sesgada** del minilote en entrenamiento (dividida
        por ``m``), la de población en inferencia.
    inv_std:
        :math:`1/\\sqrt{\\sigma^2 + \\varepsilon}`.
    gamma:
        Escala :math:`\\gamma` usada.
    eps:
        Constante de estabilidad :math:`\\varepsilon`.
    count:
        :math:`m`, número de valores sobre los que se calculan las estadísticas de cada
        característica: ``N`` para ``(N, D)`` y ``N·H·W`` para ``(N, C, H, W)``.
    """

    mode: str
    x_hat: np.ndarray
    x_centered: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray
    eps: float
    count: int


def _reduce_axes(ndim: int) -> tuple[int, ...]:
    """Ejes sobre los que se calculan las estadísticas: todos menos el de características."""
    return (0,) if ndim == 2 else (0, 2, 3)


def _expand(v: np.ndarray, ndim: int) -> np.ndarray:
    """Da a un vector ``(C,)`` la forma que difunde sobre ``(N, C)`` o ``(N, C, H, W)``."""
    return v.reshape((1, -1) if ndim == 2 else (1, -1, 1, 1))


def _check_x(x: Any, name: str = "x") -> np.ndarray:
    x = check_array(x, name, ndim=(2, 4), finite=True)
    if x.dtype not in _DTYPES:
        raise TypeError(f"«{name}» debe ser de tipo float32 o float64; es de tipo {x.dtype}.")
    if x.size == 0:
        raise ValueError(f"«{name}» no puede estar vacío; tiene forma {x.shape}.")
    return x


def _check_vector(v: Any, name: str, size: int, dtype: np.dtype, what: str) -> np.ndarray:
    v = check_array(v, name, ndim=1, dtype=np.floating, finite=True)
    if v.shape[0] != size:
        raise ValueError(f"«{name}» debe tener {size} valores, uno por {what}; tiene {v.shape[0]}.")
    return v.astype(dtype, copy=False)


def _feature_word(ndim: int) -> str:
    return "característica" if ndim == 2 else "canal"


def batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    *,
    eps: float = 1e-5,
    mode: str = "train",
    running_mean: np.ndarray | None = None,
    running_var: np.ndarray | None = None,
) -> tuple[np.ndarray, BatchNormCache]:
    """Pasada hacia delante de BN en entrenamiento (algoritmo 1) o en inferencia (algoritmo 2).

    Parámetros
    ----------
    x:
        Entrada ``float32`` o ``float64`` de forma ``(N, D)`` o ``(N, C, H, W)``, finita.
    gamma, beta:
        Escala y desplazamiento, vectores de ``D`` (o ``C``) valores reales finitos.
    eps:
        Constante de estabilidad, mayor que 0 (por defecto ``1e-5``, el valor de PyTorch; Keras
        usa ``1e-3``).
    mode:
        ``"train"``: normaliza con la media y la varianza sesgada del minilote (hacen falta al
        menos dos valores por característica, ``N >= 2``; en 4-D, ``N·H·W >= 2``).
        ``"inference"``: normaliza con ``running_mean`` y ``running_var``, que son
        obligatorias.
    running_mean, running_var:
        Estadísticas de población ``(C,)`` para ``mode="inference"`` (la varianza, no
        negativa). En entrenamiento se ignoran: para actualizarlas, véase
        :func:`update_running_stats`.

    Devuelve
    --------
    ``(out, cache)``: la salida, con la forma y el tipo de ``x``, y la :class:`BatchNormCache`
    que necesitan :func:`batchnorm_backward` y :func:`update_running_stats`.
    """
    x = _check_x(x)
    eps = check_float(eps, "eps", minimum=0.0, strict_minimum=True)
    mode = check_choice(mode, "mode", _MODES)
    num = x.shape[1]
    what = _feature_word(x.ndim)
    gamma = _check_vector(gamma, "gamma", num, x.dtype, what)
    beta = _check_vector(beta, "beta", num, x.dtype, what)
    axes = _reduce_axes(x.ndim)
    count = x.size // num

    if mode == "train":
        if count < 2:
            raise ValueError(
                f"En modo de entrenamiento hacen falta al menos dos valores por {what} para "
                f"calcular una varianza; «x» de forma {x.shape} da solo {count} (N = 1)."
            )
        mean = x.mean(axis=axes)
        x_centered = x - _expand(mean, x.ndim)
        var = (x_centered * x_centered).mean(axis=axes)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                "En modo de inferencia hacen falta «running_mean» y «running_var» (las "
                "estadísticas de población); se recibió None."
            )
        mean = _check_vector(running_mean, "running_mean", num, x.dtype, what)
        var = _check_vector(running_var, "running_var", num, x.dtype, what)
        if np.any(var < 0):
            raise ValueError(
                f"«running_var» debe ser no negativa; su mínimo es {float(var.min())}."
            )
        x_centered = x - _expand(mean, x.ndim)

    inv_std = (1.0 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype, copy=False)
    x_hat = x_centered * _expand(inv_std, x.ndim)
    out = _expand(gamma, x.ndim) * x_hat + _expand(beta, x.ndim)
    cache = BatchNormCache(
        mode=mode,
        x_hat=x_hat,
        x_centered=x_centered,
        mean=mean,
        var=var,
        inv_std=inv_std,
        gamma=gamma,
        eps=eps,
        count=count,
    )
    return out, cache
