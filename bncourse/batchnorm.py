"""Implementación de referencia de la normalización por lotes con NumPy, sin marcos de trabajo.

Funciones puras al estilo de ``layers.py`` de CS231n: la pasada hacia delante devuelve la salida
y una *caché* (:class:`BatchNormCache`) con lo que necesita la pasada hacia atrás; nada se
modifica en su sitio. Sigue a Ioffe y Szegedy (2015):

- :func:`batchnorm_forward` con ``mode="train"`` es el algoritmo 1 (media y varianza **sesgada**
  del minilote, normalización con ``eps``, escala ``gamma`` y desplazamiento ``beta``); con
  ``mode="inference"`` es el algoritmo 2 (estadísticas de población).
- :func:`batchnorm_backward` deriva la retropropagación siguiendo el grafo de cálculo paso a
  paso; :func:`batchnorm_backward_alt` usa la fórmula cerrada. Ambas devuelven
  ``(dx, dgamma, dbeta)``.
- :func:`update_running_stats` actualiza las estadísticas de población con la convención de
  PyTorch o la de Keras (véase :data:`CONVENTIONS`).
- :func:`batchnorm_inference_affine` da los coeficientes ``a`` y ``b`` de la forma afín
  ``y = a·x + b`` a la que se reduce BN en inferencia.

Formas admitidas: ``(N, D)`` para capas densas (estadísticas por característica, sobre N) y
``(N, C, H, W)`` para capas convolucionales (estadísticas por canal, sobre N, H y W), como
``BatchNorm1d`` y ``BatchNorm2d`` de PyTorch. Keras usa los canales al final
(``axis=-1``): traspóngase ``(N, H, W, C)`` a ``(N, C, H, W)`` para usar estas funciones.

Tipos: ``float32`` y ``float64``; las salidas tienen el tipo de ``x`` (``gamma``, ``beta`` y las
estadísticas se convierten a ese tipo).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._checks import check_array, check_choice, check_float, describe

__all__ = [
    "CONVENTIONS",
    "BatchNormCache",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "batchnorm_forward",
    "batchnorm_inference_affine",
    "update_running_stats",
]

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_MODES = ("train", "inference")

CONVENTIONS: dict[str, dict[str, Any]] = {
    "pytorch": {
        "momentum": 0.1,
        "eps": 1e-5,
        "momentum_weights": "new",
        "unbiased_running_var": True,
    },
    "keras": {
        "momentum": 0.99,
        "eps": 1e-3,
        "momentum_weights": "old",
        "unbiased_running_var": False,
    },
}
"""Valores por defecto y convenciones de cada marco de trabajo.

- ``momentum``: valor por defecto del argumento del mismo nombre.
- ``momentum_weights``: a qué pesa ``momentum`` en la media móvil exponencial. En PyTorch pesa
  al minilote nuevo, ``nuevo = (1 - momentum)·viejo + momentum·lote``; en Keras pesa al valor
  viejo, ``nuevo = momentum·viejo + (1 - momentum)·lote``. Por eso 0.1 en PyTorch equivale a
  0.9 en Keras.
- ``unbiased_running_var``: si la varianza de población acumula la varianza insesgada del
  minilote, multiplicada por ``m/(m - 1)`` (PyTorch), o la sesgada (Keras).
- ``eps``: valor por defecto de la constante de estabilidad (``eps`` en PyTorch, ``epsilon`` en
  Keras).
"""


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


def update_running_stats(
    running_mean: np.ndarray,
    running_var: np.ndarray,
    cache: BatchNormCache,
    *,
    convention: str,
    momentum: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Devuelve las estadísticas de población actualizadas con las del minilote de ``cache``.

    Es una media móvil exponencial; ``convention`` dice cómo se lee ``momentum``:

    - ``"pytorch"`` (``momentum`` 0.1 por defecto, pesa al minilote nuevo, varianza
      **insesgada**)::

          mean = (1 - momentum)·mean + momentum·mu_B
          var  = (1 - momentum)·var  + momentum·sigma²_B·m/(m - 1)

    - ``"keras"`` (``momentum`` 0.99 por defecto, pesa al valor viejo, varianza **sesgada**)::

          mean = momentum·mean + (1 - momentum)·mu_B
          var  = momentum·var  + (1 - momentum)·sigma²_B

    Parámetros
    ----------
    running_mean, running_var:
        Estadísticas actuales ``(C,)``, finitas (la varianza, no negativa). No se modifican.
        Ambos marcos empiezan con ceros y unos.
    cache:
        La caché de :func:`batchnorm_forward` en modo ``"train"``.
    convention:
        ``"pytorch"`` o ``"keras"`` (obligatorio, para que ``momentum`` nunca sea ambiguo).
    momentum:
        Número en ``[0, 1]``; ``None`` toma el valor por defecto de la convención
        (:data:`CONVENTIONS`).

    Devuelve
    --------
    ``(running_mean, running_var)`` nuevos, con el tipo de ``x``.
    """
    if not isinstance(cache, BatchNormCache):
        raise TypeError(
            "«cache» debe ser la BatchNormCache que devuelve batchnorm_forward; se recibió "
            f"{describe(cache)}."
        )
    if cache.mode != "train":
        raise ValueError(
            "Las estadísticas de población solo se actualizan con una caché de modo "
            f"'train'; esta es de modo {cache.mode!r}."
        )
    convention = check_choice(convention, "convention", tuple(CONVENTIONS))
    if momentum is None:
        momentum = CONVENTIONS[convention]["momentum"]
    momentum = check_float(momentum, "momentum", minimum=0.0, maximum=1.0)
    num = cache.mean.shape[0]
    dtype = cache.x_hat.dtype
    what = _feature_word(cache.x_hat.ndim)
    running_mean = _check_vector(running_mean, "running_mean", num, dtype, what)
    running_var = _check_vector(running_var, "running_var", num, dtype, what)
    if np.any(running_var < 0):
        raise ValueError(
            f"«running_var» debe ser no negativa; su mínimo es {float(running_var.min())}."
        )
    m = cache.count
    if convention == "pytorch":
        new_weight = momentum
        batch_var = cache.var * dtype.type(m / (m - 1))
    else:
        new_weight = 1.0 - momentum
        batch_var = cache.var
    new_weight = dtype.type(new_weight)
    old_weight = dtype.type(1.0) - new_weight
    new_mean = old_weight * running_mean + new_weight * cache.mean
    new_var = old_weight * running_var + new_weight * batch_var
    return new_mean.astype(dtype, copy=False), new_var.astype(dtype, copy=False)


def batchnorm_inference_affine(
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    *,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray]:
    """Coeficientes de la forma afín de BN en inferencia, ``y = a·x + b`` por característica.

    ``a = gamma/sqrt(running_var + eps)`` y ``b = beta - a·running_mean``, de modo que
    ``batchnorm_forward(x, gamma, beta, eps=eps, mode="inference", ...)`` es ``a·x + b``
    (con ``a`` y ``b`` difundidos sobre el eje de características).

    Parámetros
    ----------
    gamma, beta, running_mean, running_var:
        Vectores ``(C,)`` reales y finitos del mismo tamaño; ``running_var`` no negativa. El
        tipo del resultado es el de ``gamma``.
    eps:
        Constante de estabilidad, mayor que 0.

    Devuelve
    --------
    ``(a, b)``, dos vectores ``(C,)``.
    """
    gamma = check_array(gamma, "gamma", ndim=1, dtype=np.floating, finite=True)
    if gamma.dtype not in _DTYPES:
        raise TypeError(f"«gamma» debe ser de tipo float32 o float64; es de tipo {gamma.dtype}.")
    num = gamma.shape[0]
    if num == 0:
        raise ValueError("«gamma» no puede estar vacío.")
    beta = _check_vector(beta, "beta", num, gamma.dtype, "característica")
    mean = _check_vector(running_mean, "running_mean", num, gamma.dtype, "característica")
    var = _check_vector(running_var, "running_var", num, gamma.dtype, "característica")
    if np.any(var < 0):
        raise ValueError(f"«running_var» debe ser no negativa; su mínimo es {float(var.min())}.")
    eps = check_float(eps, "eps", minimum=0.0, strict_minimum=True)
    a = gamma / np.sqrt(var + gamma.dtype.type(eps))
    b = beta - a * mean
    return a.astype(gamma.dtype, copy=False), b.astype(gamma.dtype, copy=False)
