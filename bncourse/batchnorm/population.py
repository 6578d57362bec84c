"""Estadísticas de población de la BN de referencia y la forma afín a la que se reduce en inferencia.

:data:`CONVENTIONS` recoge los valores por defecto y las convenciones de PyTorch y de Keras, que
:func:`update_running_stats` aplica.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_array, check_choice, check_float, describe
from .forward import _DTYPES, BatchNormCache, _check_vector, _feature_word

__all__ = ["CONVENTIONS", "batchnorm_inference_affine", "update_running_stats"]

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
