"""Los cuatro correctores de :mod:`bncourse.exercises`, uno por función que escribe el lector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import describe
from ..batchnorm import (
    batchnorm_backward_alt,
    batchnorm_forward,
    update_running_stats,
)
from .grading import (
    CheckReport,
    _as_array,
    _axes,
    _call,
    _Case,
    _cases,
    _check_callable,
    _expand,
    _Failure,
    _first_difference,
    _report,
    _what,
)

__all__ = [
    "check_batchnorm_backward",
    "check_batchnorm_forward",
    "check_inference",
    "check_running_stats",
]


# ---------------------------------------------------------------------------------------------
# Pasada hacia delante (modo de entrenamiento)
# ---------------------------------------------------------------------------------------------


def _forward_reference(case: _Case, *, unbiased: bool = False) -> np.ndarray:
    """La salida correcta, calculada en float64 a partir de la misma entrada."""
    x = case.x.astype(np.float64)
    if not unbiased:
        g, b = case.gamma.astype(np.float64), case.beta.astype(np.float64)
        return batchnorm_forward(x, g, b, eps=case.eps)[0]
    axes = _axes(x.ndim)
    m = x.size // x.shape[1]
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True) * m / (m - 1)
    g, b = _expand(case.gamma.astype(np.float64), x.ndim), _expand(case.beta.astype(np.float64), x.ndim)
    return g * (x - mean) / np.sqrt(var + case.eps) + b


def check_batchnorm_forward(
    fn: Callable[..., Any], *, raise_on_failure: bool = False
) -> CheckReport:
    """Corrige ``fn(x, gamma, beta, eps) -> out``, BN en modo de entrenamiento.

    Comprueba, en cada caso y por este orden: forma y tipo de la salida; que su media por
    característica sea ``beta`` (lo que garantiza BN sea cual sea ``gamma``); que su desviación
    típica sea ``|gamma|·sqrt(var/(var + eps))`` con la varianza **sesgada**; y cada valor contra
    la implementación de referencia. Reconoce el error típico de usar la varianza insesgada.

    Devuelve
    --------
    Un :class:`CheckReport` (se muestra como texto). Con ``raise_on_failure=True``, lanza
    :class:`ExerciseError` si algo falla.
    """
    _check_callable(fn, "batchnorm_forward")

    def run() -> int:
        checks = 0
        for case in _cases():
            x = case.x
            dtype, ndim = x.dtype, x.ndim
            rtol, atol = case.rtol, case.atol
            got = _as_array(
                _call(fn, "batchnorm_forward", case.label, x.copy(), case.gamma.copy(),
                      case.beta.copy(), case.eps),
                "out", x.shape, dtype, case.label,
            )
            axes = _axes(ndim)
            mean = got.astype(np.float64).mean(axis=axes)
            scale = np.abs(case.gamma.astype(np.float64)).max()
            bad = np.abs(mean - case.beta) > 1e3 * atol + 10 * rtol * scale
            if np.any(bad):
                j = int(np.argmax(bad))
                raise _Failure(
                    f"la media de la salida no es β en {_what(ndim)} {j} (caso {case.label}): "
                    f"es {mean[j]:.6g} y β vale {float(case.beta[j]):.6g}. ¿Resta la media del "
                    "minilote y suma β después de escalar?"
                )
            want = _forward_reference(case)
            std = got.astype(np.float64).std(axis=axes)
            want_std = want.astype(np.float64).std(axis=axes)
            if not np.allclose(std, want_std, rtol=50 * rtol, atol=50 * atol):
                unbiased = _forward_reference(case, unbiased=True).std(axis=axes)
                j = int(np.argmax(np.abs(std - want_std)))
                hint = ""
                if np.allclose(std, unbiased, rtol=50 * rtol, atol=50 * atol):
                    hint = (
                        " Su salida corresponde a la varianza insesgada (dividida por m − 1): en "
                        "entrenamiento BN normaliza con la varianza sesgada del minilote "
                        "(dividida por m), como en el algoritmo 1 de Ioffe y Szegedy."
                    )
                raise _Failure(
                    f"la desviación típica de la salida en {_what(ndim)} {j} es {std[j]:.6g} y "
                    f"debería ser {want_std[j]:.6g} = |γ|·√(σ²/(σ² + ε)) (caso {case.label})."
                    + hint
                )
            _first_difference(got, want, "out", case.label, rtol=rtol, atol=atol)
            checks += 1
        return checks

    return _report("batchnorm_forward", run, raise_on_failure)


# ---------------------------------------------------------------------------------------------
# Retropropagación
# ---------------------------------------------------------------------------------------------


def _numeric_grad_x(case: _Case, dout: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Gradiente de ``sum(out·dout)`` respecto a x por diferencias finitas centradas (float64)."""
    x = case.x.astype(np.float64)
    g, b = case.gamma.astype(np.float64), case.beta.astype(np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        fp = (batchnorm_forward(plus, g, b, eps=case.eps)[0] * dout).sum()
        fm = (batchnorm_forward(minus, g, b, eps=case.eps)[0] * dout).sum()
        grad[idx] = (fp - fm) / (2 * h)
    return grad


def check_batchnorm_backward(
    fn: Callable[..., Any], *, raise_on_failure: bool = False
) -> CheckReport:
    """Corrige ``fn(dout, x, gamma, eps) -> (dx, dgamma, dbeta)``, la retropropagación de BN en
    modo de entrenamiento.

    Compara ``dbeta``, ``dgamma`` y ``dx`` con la fórmula cerrada de referencia y, en los casos
    ``float64``, ``dx`` también con diferencias finitas centradas. Reconoce el error típico de
    olvidar que la media y la varianza del minilote dependen de ``x``.
    """
    _check_callable(fn, "batchnorm_backward")

    def run() -> int:
        checks = 0
        rng = np.random.default_rng(1502)
        for case in _cases():
            x, dtype, ndim = case.x, case.x.dtype, case.x.ndim
            rtol, atol = case.rtol, case.atol
            dout = rng.standard_normal(x.shape).astype(dtype)
            result = _call(fn, "batchnorm_backward", case.label, dout.copy(), x.copy(),
                           case.gamma.copy(), case.eps)
            if not (isinstance(result, tuple | list) and len(result) == 3):
                raise _Failure(
                    "«batchnorm_backward» debe devolver tres arreglos, (dx, dgamma, dbeta); "
                    f"devolvió {describe(result)} (caso {case.label})."
                )
            num = x.shape[1]
            dx = _as_array(result[0], "dx", x.shape, dtype, case.label)
            dgamma = _as_array(result[1], "dgamma", (num,), dtype, case.label)
            dbeta = _as_array(result[2], "dbeta", (num,), dtype, case.label)
            _, cache = batchnorm_forward(x, case.gamma, case.beta, eps=case.eps)
            want_dx, want_dgamma, want_dbeta = batchnorm_backward_alt(dout, cache)
            _first_difference(dbeta, want_dbeta, "dbeta", case.label, rtol=rtol, atol=10 * atol)
            _first_difference(dgamma, want_dgamma, "dgamma", case.label, rtol=rtol, atol=10 * atol)
            try:
                _first_difference(dx, want_dx, "dx", case.label, rtol=10 * rtol, atol=10 * atol)
            except _Failure as failure:
                direct = dout * _expand(case.gamma * cache.inv_std, ndim)
                if np.allclose(dx, direct, rtol=10 * rtol, atol=10 * atol):
                    raise _Failure(
                        "el gradiente respecto a x es γ·dout/√(σ² + ε), como si la media y la "
                        "varianza del minilote fueran constantes (caso "
                        f"{case.label}). En entrenamiento dependen de x: faltan las ramas que "
                        "pasan por μ y por σ² (su suma por característica debe ser 0)."
                    ) from None
                raise failure from None
            if dtype == np.float64:
                numeric = _numeric_grad_x(case, dout.astype(np.float64))
                _first_difference(dx, numeric, "dx (frente a diferencias finitas)", case.label,
                                  rtol=1e-5, atol=1e-7)
            checks += 1
        return checks

    return _report("batchnorm_backward", run, raise_on_failure)


# ---------------------------------------------------------------------------------------------
# Estadísticas de población e inferencia
# ---------------------------------------------------------------------------------------------


def check_running_stats(fn: Callable[..., Any], *, raise_on_failure: bool = False) -> CheckReport:
    """Corrige ``fn(running_mean, running_var, x, momentum) -> (mean, var)`` con la convención
    de PyTorch: ``nuevo = (1 - momentum)·viejo + momentum·minilote``, con la varianza
    **insesgada** del minilote (``m/(m - 1)``). Reconoce la varianza sesgada y la convención
    opuesta (la de Keras, en la que ``momentum`` pesa al valor viejo).
    """
    _check_callable(fn, "update_running_stats")

    def run() -> int:
        checks = 0
        rng = np.random.default_rng(2017)
        for case in _cases():
            x, dtype = case.x, case.x.dtype
            rtol, atol = case.rtol, case.atol
            num = int(x.shape[1])
            old_mean = rng.standard_normal(num).astype(dtype)
            old_var = rng.uniform(0.5, 2.0, num).astype(dtype)
            for momentum in (0.1, 0.3):
                result = _call(fn, "update_running_stats", case.label, old_mean.copy(),
                               old_var.copy(), x.copy(), momentum)
                if not (isinstance(result, tuple | list) and len(result) == 2):
                    raise _Failure(
                        "«update_running_stats» debe devolver dos arreglos, (mean, var); "
                        f"devolvió {describe(result)} (caso {case.label})."
                    )
                got_mean = _as_array(result[0], "mean", (num,), dtype, case.label)
                got_var = _as_array(result[1], "var", (num,), dtype, case.label)
                if np.array_equal(got_mean, old_mean) and np.array_equal(got_var, old_var):
                    raise _Failure(
                        "devuelve las estadísticas sin cambios: debe mezclarlas con las del "
                        f"minilote (caso {case.label})."
                    )
                _, cache = batchnorm_forward(x, case.gamma, case.beta, eps=case.eps)
                label = f"{case.label}, momentum = {momentum}"
                want_mean, want_var = update_running_stats(
                    old_mean, old_var, cache, convention="pytorch", momentum=momentum
                )
                keras_mean, _ = update_running_stats(
                    old_mean, old_var, cache, convention="keras", momentum=momentum
                )
                if not np.allclose(got_mean, want_mean, rtol=rtol, atol=10 * atol) and np.allclose(
                    got_mean, keras_mean, rtol=rtol, atol=10 * atol
                ):
                    raise _Failure(
                        f"usa la convención de Keras (momentum pesa al valor viejo) en el caso "
                        f"{label}; aquí se pide la de PyTorch: nuevo = (1 − momentum)·viejo + "
                        "momentum·minilote."
                    )
                _first_difference(got_mean, want_mean, "mean", label, rtol=rtol, atol=10 * atol)
                try:
                    _first_difference(got_var, want_var, "var", label, rtol=rtol, atol=10 * atol)
                except _Failure as failure:
                    _, biased = update_running_stats(
                        old_mean, old_var, cache, convention="keras", momentum=1 - momentum
                    )
                    if np.allclose(got_var, biased, rtol=rtol, atol=10 * atol):
                        raise _Failure(
                            "acumula la varianza sesgada del minilote (dividida por m) en el "
                            f"caso {label}; PyTorch acumula la insesgada, multiplicada por "
                            "m/(m − 1)."
                        ) from None
                    raise failure from None
                checks += 1
        return checks

    return _report("update_running_stats", run, raise_on_failure)


def check_inference(fn: Callable[..., Any], *, raise_on_failure: bool = False) -> CheckReport:
    """Corrige ``fn(x, gamma, beta, running_mean, running_var, eps) -> out``, BN en modo de
    inferencia: normaliza con las estadísticas de población, no con las del minilote, y por eso
    funciona también con un solo ejemplo. Reconoce el error de usar las del minilote.
    """
    _check_callable(fn, "batchnorm_inference")

    def run() -> int:
        checks = 0
        rng = np.random.default_rng(2015)
        for case in _cases():
            x, dtype = case.x, case.x.dtype
            rtol, atol = case.rtol, case.atol
            num = x.shape[1]
            axes = _axes(x.ndim)
            pop_mean = (x.astype(np.float64).mean(axis=axes) + rng.uniform(-1, 1, num)).astype(dtype)
            pop_var = (x.astype(np.float64).var(axis=axes) * rng.uniform(0.5, 2, num)).astype(dtype)
            for label, xb in ((case.label, x), (f"{case.label}, un solo ejemplo", x[:1])):
                got = _as_array(
                    _call(fn, "batchnorm_inference", label, xb.copy(), case.gamma.copy(),
                          case.beta.copy(), pop_mean.copy(), pop_var.copy(), case.eps),
                    "out", xb.shape, dtype, label,
                )
                want, _ = batchnorm_forward(xb, case.gamma, case.beta, eps=case.eps,
                                            mode="inference", running_mean=pop_mean,
                                            running_var=pop_var)
                if xb.shape[0] > 1 and not np.allclose(got, want, rtol=rtol, atol=10 * atol):
                    batch, _ = batchnorm_forward(xb, case.gamma, case.beta, eps=case.eps)
                    if np.allclose(got, batch, rtol=rtol, atol=10 * atol):
                        raise _Failure(
                            "normaliza con la media y la varianza del minilote (caso "
                            f"{label}); en inferencia se usan las de población, "
                            "running_mean y running_var, y la salida de un ejemplo no depende "
                            "de los demás."
                        )
                _first_difference(got, want, "out", label, rtol=rtol, atol=10 * atol)
                checks += 1
        return checks

    return _report("batchnorm_inference", run, raise_on_failure)
