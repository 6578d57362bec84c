"""Retropropagación de la BN de referencia: por el grafo de cálculo y con la fórmula cerrada."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_array, describe
from .forward import BatchNormCache, _expand, _reduce_axes

__all__ = ["batchnorm_backward", "batchnorm_backward_alt"]


def _check_backward_args(dout: Any, cache: Any) -> tuple[np.ndarray, BatchNormCache]:
    if not isinstance(cache, BatchNormCache):
        raise TypeError(
            "«cache» debe ser la BatchNormCache que devuelve batchnorm_forward; se recibió "
            f"{describe(cache)}."
        )
    dout = check_array(dout, "dout", ndim=cache.x_hat.ndim, dtype=np.floating, finite=True)
    if dout.shape != cache.x_hat.shape:
        raise ValueError(
            f"«dout» debe tener la forma de la salida, {cache.x_hat.shape}; tiene {dout.shape}."
        )
    return dout.astype(cache.x_hat.dtype, copy=False), cache


def batchnorm_backward(
    dout: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Retropropagación de BN paso a paso por el grafo de cálculo.

    Recorre al revés los pasos de la pasada hacia delante: ``y = gamma·x_hat + beta``,
    ``x_hat = xc·inv_std``, ``inv_std = 1/std``, ``std = sqrt(var + eps)``,
    ``var = mean(xc²)``, ``xc = x - mu``, ``mu = mean(x)``, y suma las contribuciones de cada
    rama. En inferencia ``mu`` y ``var`` son constantes y solo queda la rama directa.

    Parámetros
    ----------
    dout:
        Gradiente de la pérdida respecto a la salida, con la forma de ``x``.
    cache:
        La caché que devolvió :func:`batchnorm_forward`.

    Devuelve
    --------
    ``(dx, dgamma, dbeta)``: ``dx`` con la forma de ``x``; ``dgamma`` y ``dbeta`` de forma
    ``(C,)``. Todo con el tipo de ``x``.
    """
    dout, cache = _check_backward_args(dout, cache)
    ndim = dout.ndim
    axes = _reduce_axes(ndim)
    m = cache.count

    # y = gamma * x_hat + beta
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * cache.x_hat).sum(axis=axes)
    dx_hat = dout * _expand(cache.gamma, ndim)
    if cache.mode == "inference":
        # mu y var son constantes: x_hat = (x - mu) * inv_std
        return dx_hat * _expand(cache.inv_std, ndim), dgamma, dbeta

    xc = cache.x_centered
    inv_std = cache.inv_std
    std = 1.0 / inv_std
    # x_hat = xc * inv_std: dos ramas, hacia xc y hacia inv_std
    dxc = dx_hat * _expand(inv_std, ndim)
    dinv_std = (dx_hat * xc).sum(axis=axes)
    # inv_std = 1 / std
    dstd = -dinv_std / (std * std)
    # std = sqrt(var + eps)
    dvar = 0.5 * dstd / std
    # var = mean(xc**2): cada xc² recibe dvar/m, y d(xc²)/dxc = 2·xc
    dxc = dxc + 2.0 * xc * _expand(dvar, ndim) / m
    # xc = x - mu: dos ramas, hacia x y hacia mu
    dmu = -dxc.sum(axis=axes)
    # mu = mean(x): cada x recibe dmu/m
    dx = dxc + _expand(dmu, ndim) / m
    return dx.astype(dout.dtype, copy=False), dgamma, dbeta


def batchnorm_backward_alt(
    dout: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Retropropagación de BN con la fórmula cerrada.

    En entrenamiento, por característica y con ``m`` valores:

    ``dx = gamma·inv_std/m · (m·dout - sum(dout) - x_hat·sum(dout·x_hat))``,

    ``dgamma = sum(dout·x_hat)`` y ``dbeta = sum(dout)``. En inferencia,
    ``dx = gamma·inv_std·dout``. Mismos argumentos y resultado que
    :func:`batchnorm_backward`.
    """
    dout, cache = _check_backward_args(dout, cache)
    ndim = dout.ndim
    axes = _reduce_axes(ndim)
    m = cache.count
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * cache.x_hat).sum(axis=axes)
    scale = _expand(cache.gamma * cache.inv_std, ndim)
    if cache.mode == "inference":
        return scale * dout, dgamma, dbeta
    dx = (scale / m) * (m * dout - _expand(dbeta, ndim) - cache.x_hat * _expand(dgamma, ndim))
    return dx.astype(dout.dtype, copy=False), dgamma, dbeta
