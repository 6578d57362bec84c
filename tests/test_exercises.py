"""Correctores de los ejercicios «Impleméntela usted» (``bncourse.exercises``).

Cada corrector acepta una solución correcta escrita como la escribiría un lector (sin usar
``bncourse.batchnorm``) y rechaza, con el mensaje en español que corresponde, una lista de
implementaciones equivocadas plausibles.
"""

from __future__ import annotations

import numpy as np
import pytest

from bncourse.exercises import (
    CheckReport,
    ExerciseError,
    check_batchnorm_backward,
    check_batchnorm_forward,
    check_inference,
    check_running_stats,
)


def _axes(x):
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _shape(v, x):
    return v.reshape((1, -1) if x.ndim == 2 else (1, -1, 1, 1))


# --- Soluciones correctas, como las escribiría un lector -------------------------------------


def forward(x, gamma, beta, eps):
    mu = x.mean(axis=_axes(x), keepdims=True)
    var = ((x - mu) ** 2).mean(axis=_axes(x), keepdims=True)
    return _shape(gamma, x) * (x - mu) / np.sqrt(var + eps) + _shape(beta, x)


def forward_with_cache(x, gamma, beta, eps):
    return forward(x, gamma, beta, eps), {"x": x}


def backward(dout, x, gamma, eps):
    axes = _axes(x)
    m = x.size // x.shape[1]
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    inv = 1 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx = (_shape(gamma, x) * inv / m) * (
        m * dout - _shape(dbeta, x) - x_hat * _shape(dgamma, x)
    )
    return dx, dgamma, dbeta


def running_stats(running_mean, running_var, x, momentum):
    axes = _axes(x)
    m = x.size // x.shape[1]
    mean = x.mean(axis=axes)
    var = x.var(axis=axes) * m / (m - 1)
    return (1 - momentum) * running_mean + momentum * mean, (1 - momentum) * running_var + momentum * var


def inference(x, gamma, beta, running_mean, running_var, eps):
    return _shape(gamma, x) * (x - _shape(running_mean, x)) / np.sqrt(
        _shape(running_var, x) + eps
    ) + _shape(beta, x)


# --- Errores típicos --------------------------------------------------------------------------


def forward_unbiased(x, gamma, beta, eps):
    m = x.size // x.shape[1]
    mu = x.mean(axis=_axes(x), keepdims=True)
    var = ((x - mu) ** 2).sum(axis=_axes(x), keepdims=True) / (m - 1)
    return _shape(gamma, x) * (x - mu) / np.sqrt(var + eps) + _shape(beta, x)


def forward_eps_outside(x, gamma, beta, eps):
    mu = x.mean(axis=_axes(x), keepdims=True)
    std = x.std(axis=_axes(x), keepdims=True)
    return _shape(gamma, x) * (x - mu) / (std + eps) + _shape(beta, x)


def forward_naive_variance(x, gamma, beta, eps):
    mu = x.mean(axis=_axes(x), keepdims=True)
    var = (x * x).mean(axis=_axes(x), keepdims=True) - mu * mu
    return _shape(gamma, x) * (x - mu) / np.sqrt(np.abs(var) + eps) + _shape(beta, x)


def forward_wrong_axis(x, gamma, beta, eps):
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return _shape(gamma, x) * (x - mu) / np.sqrt(var + eps) + _shape(beta, x)


def forward_no_beta(x, gamma, beta, eps):
    return forward(x, gamma, np.zeros_like(beta), eps)


def forward_float64(x, gamma, beta, eps):
    return forward(x.astype(np.float64), gamma.astype(np.float64), beta.astype(np.float64), eps)


def forward_4d_over_batch_only(x, gamma, beta, eps):
    mu = x.mean(axis=0, keepdims=True)
    var = x.var(axis=0, keepdims=True)
    return _shape(gamma, x) * (x - mu) / np.sqrt(var + eps) + _shape(beta, x)


def forward_not_implemented(x, gamma, beta, eps):
    raise NotImplementedError


def forward_crashes(x, gamma, beta, eps):
    return x.mean(axis=5)


def backward_constant_stats(dout, x, gamma, eps):
    axes = _axes(x)
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    inv = 1 / np.sqrt(var + eps)
    dx = dout * _shape(gamma, x) * inv
    return dx, (dout * (x - mu) * inv).sum(axis=axes), dout.sum(axis=axes)


def backward_dgamma_without_xhat(dout, x, gamma, eps):
    dx, _, dbeta = backward(dout, x, gamma, eps)
    return dx, (dout * x).sum(axis=_axes(x)), dbeta


def backward_dbeta_mean(dout, x, gamma, eps):
    dx, dgamma, _ = backward(dout, x, gamma, eps)
    return dx, dgamma, dout.mean(axis=_axes(x))


def backward_forgets_mean_branch(dout, x, gamma, eps):
    axes = _axes(x)
    m = x.size // x.shape[1]
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    inv = 1 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv
    dx_hat = dout * _shape(gamma, x)
    dvar = (dx_hat * (x - mu)).sum(axis=axes, keepdims=True) * -0.5 * inv**3
    dx = dx_hat * inv + dvar * 2 * (x - mu) / m
    return dx, (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)


def backward_two_values(dout, x, gamma, eps):
    dx, dgamma, _ = backward(dout, x, gamma, eps)
    return dx, dgamma


def running_biased(running_mean, running_var, x, momentum):
    axes = _axes(x)
    return ((1 - momentum) * running_mean + momentum * x.mean(axis=axes),
            (1 - momentum) * running_var + momentum * x.var(axis=axes))


def running_keras_convention(running_mean, running_var, x, momentum):
    axes = _axes(x)
    m = x.size // x.shape[1]
    return (momentum * running_mean + (1 - momentum) * x.mean(axis=axes),
            momentum * running_var + (1 - momentum) * x.var(axis=axes) * m / (m - 1))


def running_unchanged(running_mean, running_var, x, momentum):
    return running_mean, running_var


def inference_batch_stats(x, gamma, beta, running_mean, running_var, eps):
    if x.shape[0] == 1:
        return inference(x, gamma, beta, running_mean, running_var, eps)
    return forward(x, gamma, beta, eps)


def inference_no_eps(x, gamma, beta, running_mean, running_var, eps):
    return inference(x, gamma, beta, running_mean, running_var, 0.0)


# --- Pruebas ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("checker", "solution"), [
    (check_batchnorm_forward, forward),
    (check_batchnorm_forward, forward_with_cache),
    (check_batchnorm_backward, backward),
    (check_running_stats, running_stats),
    (check_inference, inference),
])
def test_checkers_accept_correct_solutions(checker, solution):
    report = checker(solution)
    assert isinstance(report, CheckReport) and report.passed and bool(report)
    assert report.message.startswith("✔") and f"{report.checks} pruebas" in report.message
    assert report.checks >= 6
    assert repr(report) == str(report) == report.message
    checker(solution, raise_on_failure=True)  # no lanza


WRONG = [
    (check_batchnorm_forward, forward_unbiased, "varianza insesgada"),
    (check_batchnorm_forward, forward_eps_outside, "la desviación típica de la salida"),
    (check_batchnorm_forward, forward_naive_variance, "desplazamiento grande"),
    (check_batchnorm_forward, forward_wrong_axis, "la media de la salida no es β"),
    (check_batchnorm_forward, forward_no_beta, "la media de la salida no es β en la característica"),
    (check_batchnorm_forward, forward_float64, "debe tener el tipo de la entrada, float32"),
    (check_batchnorm_forward, forward_4d_over_batch_only, "(N, C, H, W)"),
    (check_batchnorm_forward, forward_not_implemented, "todavía lanza NotImplementedError"),
    (check_batchnorm_forward, forward_crashes, "lanzó AxisError"),
    (check_batchnorm_backward, backward_constant_stats, "como si la media y la varianza del minilote fueran constantes"),
    (check_batchnorm_backward, backward_dgamma_without_xhat, "«dgamma» difiere"),
    (check_batchnorm_backward, backward_dbeta_mean, "«dbeta» difiere"),
    (check_batchnorm_backward, backward_forgets_mean_branch, "«dx» difiere"),
    (check_batchnorm_backward, backward_two_values, "debe devolver tres arreglos"),
    (check_running_stats, running_biased, "acumula la varianza sesgada"),
    (check_running_stats, running_keras_convention, "usa la convención de Keras"),
    (check_running_stats, running_unchanged, "devuelve las estadísticas sin cambios"),
    (check_inference, inference_batch_stats, "normaliza con la media y la varianza del minilote"),
    (check_inference, inference_no_eps, "«out» difiere"),
]


@pytest.mark.parametrize(("checker", "wrong", "message"), WRONG, ids=[w.__name__ for _, w, _ in WRONG])
def test_checkers_reject_typical_mistakes_with_a_spanish_message(checker, wrong, message):
    report = checker(wrong)
    assert not report.passed and not bool(report) and report.checks == 0
    assert report.message.startswith("✘"), report.message
    assert message in report.message, report.message
    with pytest.raises(ExerciseError, match="✘") as info:
        checker(wrong, raise_on_failure=True)
    assert isinstance(info.value, AssertionError) and str(info.value) == report.message


def test_rejections_name_the_position_and_the_values():
    report = check_batchnorm_backward(backward_forgets_mean_branch)
    assert "en la posición" in report.message and "se esperaba" in report.message


@pytest.mark.parametrize("checker", [check_batchnorm_forward, check_batchnorm_backward,
                                     check_running_stats, check_inference])
def test_checkers_bad_arguments(checker):
    with pytest.raises(TypeError, match="El corrector espera su función"):
        checker("no es una función")
    with pytest.raises(TypeError, match="«raise_on_failure» debe ser True o False"):
        checker(forward, raise_on_failure="sí")


def test_core_exercises_import_no_framework():
    import subprocess
    import sys

    code = "import sys, bncourse.exercises; print([m for m in ('torch', 'tensorflow') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
