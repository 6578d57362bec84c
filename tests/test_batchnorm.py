"""Pruebas de la implementación de referencia de BN (``bncourse.batchnorm``).

Compara la referencia con ``torch.nn.BatchNorm1d/2d`` y con ``keras.layers.BatchNormalization``
(cada uno con sus valores por defecto), comprueba las dos retropropagaciones con diferencias
finitas centradas y con la diferenciación automática de PyTorch, prueba propiedades con
hypothesis y verifica los mensajes de error.

Orden de importación (DESIGN §8): ``torch`` y ``torchvision`` se importan aquí arriba, antes
que Keras, que se importa una sola vez, en el accesorio ``keras`` de ámbito de módulo. Importar
solo ``torch`` no basta: PyTorch carga ``triton`` de forma perezosa (en el primer
``optimizer.step()`` o en ``torch.use_deterministic_algorithms``, que llama
``seed_everything``), y cargarlo después de TensorFlow termina el proceso de pytest con un fallo
de segmentación en pruebas posteriores. ``torchvision`` lo carga al importarse.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import torch  # noqa: I001  (antes que TensorFlow/Keras: DESIGN §8)
import torchvision  # noqa: F401  (carga triton antes que TensorFlow)

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bncourse.batchnorm import (
    CONVENTIONS,
    BatchNormCache,
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    batchnorm_inference_affine,
    update_running_stats,
)

FRAMEWORK_ATOL = 1e-5  # diferencia absoluta máxima con PyTorch y Keras, en float32
GRADCHECK_RTOL = 1e-7  # error relativo máximo frente a diferencias finitas, en float64
SHAPES = [(16, 6), (8, 4, 5, 3)]
BACKWARDS = [batchnorm_backward, batchnorm_backward_alt]


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Error relativo ``‖a - b‖ / (‖a‖ + ‖b‖)`` (norma euclídea de todo el arreglo)."""
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradiente de la función escalar ``f`` en ``x`` por diferencias finitas centradas."""
    grad = np.zeros_like(x)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + h
        plus = f()
        flat_x[i] = old - h
        minus = f()
        flat_x[i] = old
        flat_g[i] = (plus - minus) / (2 * h)
    return grad


def make_batches(shape, steps, dtype, seed):
    """Minilotes con media y escala distintas por característica (y por paso)."""
    rng = np.random.default_rng(seed)
    num = shape[1]
    bshape = (1, num) if len(shape) == 2 else (1, num, 1, 1)
    loc = rng.uniform(-3, 3, size=num).reshape(bshape)
    scale = rng.uniform(0.5, 3, size=num).reshape(bshape)
    return [
        (loc + 0.2 * k + scale * rng.standard_normal(shape)).astype(dtype) for k in range(steps)
    ]


def make_params(num, dtype, seed):
    rng = np.random.default_rng(seed + 1000)
    return rng.uniform(0.5, 2.0, num).astype(dtype), rng.uniform(-1, 1, num).astype(dtype)


def max_abs(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


# --------------------------------------------------------------------------------------------
# Comparación con PyTorch
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=["2d", "4d"])
def test_matches_torch_train_and_inference(shape):
    num = shape[1]
    layer = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(num)
    conv = CONVENTIONS["pytorch"]
    assert layer.momentum == conv["momentum"] and layer.eps == conv["eps"]
    gamma, beta = make_params(num, np.float32, seed=1)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(gamma))
        layer.bias.copy_(torch.from_numpy(beta))
    running_mean = np.zeros(num, np.float32)
    running_var = np.ones(num, np.float32)
    *train_batches, test_batch = make_batches(shape, 6, np.float32, seed=2)

    layer.train()
    for xb in train_batches:
        out, cache = batchnorm_forward(xb, gamma, beta, eps=layer.eps)
        running_mean, running_var = update_running_stats(
            running_mean, running_var, cache, convention="pytorch"
        )
        with torch.no_grad():
            expected = layer(torch.from_numpy(xb)).numpy()
        assert out.dtype == np.float32
        assert max_abs(out, expected) <= FRAMEWORK_ATOL
    assert running_mean.dtype == running_var.dtype == np.float32
    assert max_abs(running_mean, layer.running_mean.numpy()) <= FRAMEWORK_ATOL
    assert max_abs(running_var, layer.running_var.numpy()) <= FRAMEWORK_ATOL
    # Las estadísticas se han movido de verdad desde su valor inicial (0 y 1).
    assert np.abs(running_mean).max() > 0.5

    layer.eval()
    out, _ = batchnorm_forward(
        test_batch,
        gamma,
        beta,
        eps=layer.eps,
        mode="inference",
        running_mean=running_mean,
        running_var=running_var,
    )
    with torch.no_grad():
        expected = layer(torch.from_numpy(test_batch)).numpy()
    assert max_abs(out, expected) <= FRAMEWORK_ATOL
    # La forma afín da lo mismo que el algoritmo 2.
    a, b = batchnorm_inference_affine(gamma, beta, running_mean, running_var, eps=layer.eps)
    bshape = (1, num) if len(shape) == 2 else (1, num, 1, 1)
    assert max_abs(a.reshape(bshape) * test_batch + b.reshape(bshape), expected) <= FRAMEWORK_ATOL


@pytest.mark.parametrize("mode", ["train", "inference"])
@pytest.mark.parametrize("shape", SHAPES, ids=["2d", "4d"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("backward", BACKWARDS)
def test_backward_matches_autograd(backward, dtype, shape, mode):
    rng = np.random.default_rng(3)
    num = shape[1]
    x = (2.0 + 1.5 * rng.standard_normal(shape)).astype(dtype)
    gamma, beta = make_params(num, dtype, seed=4)
    dout = rng.standard_normal(shape).astype(dtype)
    rmean = rng.normal(2.0, 0.3, num).astype(dtype)
    rvar = rng.uniform(1.0, 3.0, num).astype(dtype)
    eps = 1e-5
    out, cache = batchnorm_forward(
        x, gamma, beta, eps=eps, mode=mode, running_mean=rmean, running_var=rvar
    )
    dx, dgamma, dbeta = backward(dout, cache)

    xt = torch.tensor(x, requires_grad=True)
    gt = torch.tensor(gamma, requires_grad=True)
    bt = torch.tensor(beta, requires_grad=True)
    yt = torch.nn.functional.batch_norm(
        xt,
        torch.tensor(rmean),
        torch.tensor(rvar),
        gt,
        bt,
        training=(mode == "train"),
        eps=eps,
    )
    yt.backward(torch.tensor(dout))
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert dx.dtype == dgamma.dtype == dbeta.dtype == np.dtype(dtype)
    assert max_abs(out, yt.detach().numpy()) <= tol * 10
    assert rel_error(dx, xt.grad.numpy()) <= tol
    assert rel_error(dgamma, gt.grad.numpy()) <= tol
    assert rel_error(dbeta, bt.grad.numpy()) <= tol


# --------------------------------------------------------------------------------------------
# Comparación con Keras (importado una sola vez, después de torch)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def to_keras_layout(x: np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` -> ``(N, H, W, C)``; ``(N, D)`` no cambia."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x.ndim == 4 else x


def from_keras_layout(y: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2)) if y.ndim == 4 else y


@pytest.mark.parametrize("shape", SHAPES, ids=["2d", "4d"])
def test_matches_keras_train_and_inference(keras, shape):
    num = shape[1]
    layer = keras.layers.BatchNormalization()  # axis=-1: canales al final
    conv = CONVENTIONS["keras"]
    assert layer.momentum == conv["momentum"] and layer.epsilon == conv["eps"]
    kshape = to_keras_layout(np.zeros(shape)).shape
    layer.build(kshape)
    # γ y β se entrenan; las medias móviles son variables no entrenables.
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    gamma, beta = make_params(num, np.float32, seed=5)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    running_mean = np.zeros(num, np.float32)
    running_var = np.ones(num, np.float32)
    *train_batches, test_batch = make_batches(shape, 6, np.float32, seed=6)

    for xb in train_batches:
        out, cache = batchnorm_forward(xb, gamma, beta, eps=layer.epsilon)
        running_mean, running_var = update_running_stats(
            running_mean, running_var, cache, convention="keras"
        )
        expected = from_keras_layout(np.asarray(layer(to_keras_layout(xb), training=True)))
        assert max_abs(out, expected) <= FRAMEWORK_ATOL
    assert max_abs(running_mean, np.asarray(layer.moving_mean)) <= FRAMEWORK_ATOL
    assert max_abs(running_var, np.asarray(layer.moving_variance)) <= FRAMEWORK_ATOL
    assert np.abs(running_mean).max() > 0.02  # con momentum 0.99 se mueven despacio

    inference = dict(mode="inference", running_mean=running_mean, running_var=running_var)
    out, _ = batchnorm_forward(test_batch, gamma, beta, eps=layer.epsilon, **inference)
    expected = from_keras_layout(np.asarray(layer(to_keras_layout(test_batch), training=False)))
    assert max_abs(out, expected) <= FRAMEWORK_ATOL

    # trainable=False congela la capa: aun con training=True normaliza como en inferencia.
    layer.trainable = False
    frozen = from_keras_layout(np.asarray(layer(to_keras_layout(test_batch), training=True)))
    assert max_abs(out, frozen) <= FRAMEWORK_ATOL
    assert max_abs(running_mean, np.asarray(layer.moving_mean)) <= FRAMEWORK_ATOL


# --------------------------------------------------------------------------------------------
# Diferencias finitas
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["train", "inference"])
@pytest.mark.parametrize("shape", [(7, 4), (3, 2, 3, 4)], ids=["2d", "4d"])
@pytest.mark.parametrize("backward", BACKWARDS)
def test_backward_finite_differences(backward, shape, mode):
    rng = np.random.default_rng(7)
    num = shape[1]
    x = 1.0 + 2.0 * rng.standard_normal(shape)
    gamma, beta = make_params(num, np.float64, seed=8)
    dout = rng.standard_normal(shape)
    stats = dict(running_mean=rng.normal(1.0, 0.5, num), running_var=rng.uniform(1, 4, num))

    def loss():
        out, _ = batchnorm_forward(x, gamma, beta, eps=1e-5, mode=mode, **stats)
        return float(np.sum(out * dout))

    _, cache = batchnorm_forward(x, gamma, beta, eps=1e-5, mode=mode, **stats)
    dx, dgamma, dbeta = backward(dout, cache)
    for name, analytic, variable in [("x", dx, x), ("gamma", dgamma, gamma), ("beta", dbeta, beta)]:
        numeric = numerical_gradient(loss, variable)
        assert rel_error(analytic, numeric) <= GRADCHECK_RTOL, name


# --------------------------------------------------------------------------------------------
# Estadísticas de población: convenciones
# --------------------------------------------------------------------------------------------


def test_conventions_differ_only_in_reading_of_momentum_and_bias():
    batches = make_batches((5, 3), 4, np.float64, seed=9)
    gamma, beta = np.ones(3), np.zeros(3)
    state = {"pytorch": (np.zeros(3), np.ones(3)), "keras": (np.zeros(3), np.ones(3))}
    for xb in batches:
        _, cache = batchnorm_forward(xb, gamma, beta)
        state["pytorch"] = update_running_stats(*state["pytorch"], cache, convention="pytorch")
        state["keras"] = update_running_stats(
            *state["keras"], cache, convention="keras", momentum=0.9
        )
    # Momentum 0.1 de PyTorch equivale a 0.9 de Keras para la media...
    np.testing.assert_allclose(state["pytorch"][0], state["keras"][0], rtol=1e-12)
    # ...pero la varianza de PyTorch usa el factor m/(m-1) = 5/4 en cada actualización.
    pt_var, k_var = state["pytorch"][1], state["keras"][1]
    np.testing.assert_allclose(pt_var - 0.9**4, 1.25 * (k_var - 0.9**4), rtol=1e-12)


def test_momentum_extremes_and_default():
    xb = make_batches((6, 2), 1, np.float64, seed=10)[0]
    _, cache = batchnorm_forward(xb, np.ones(2), np.zeros(2))
    mean0, var0 = np.array([0.5, -0.5]), np.array([2.0, 3.0])
    unbiased = xb.var(axis=0, ddof=1)
    m, v = update_running_stats(mean0, var0, cache, convention="pytorch", momentum=1.0)
    np.testing.assert_allclose(m, xb.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(v, unbiased, rtol=1e-12)
    m, v = update_running_stats(mean0, var0, cache, convention="keras", momentum=1.0)
    np.testing.assert_array_equal(m, mean0)
    np.testing.assert_array_equal(v, var0)
    m, v = update_running_stats(mean0, var0, cache, convention="keras", momentum=0.0)
    np.testing.assert_allclose(v, xb.var(axis=0), rtol=1e-12)  # sesgada
    m, _ = update_running_stats(mean0, var0, cache, convention="keras")  # 0.99 por defecto
    np.testing.assert_allclose(m, 0.99 * mean0 + 0.01 * xb.mean(axis=0), rtol=1e-12)
    # Las entradas no se modifican.
    np.testing.assert_array_equal(mean0, [0.5, -0.5])


# --------------------------------------------------------------------------------------------
# Propiedades (hypothesis)
# --------------------------------------------------------------------------------------------

shapes_2d = st.tuples(st.integers(2, 24), st.integers(1, 6))
shapes_4d = st.tuples(
    st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)
).filter(lambda s: s[0] * s[2] * s[3] >= 2)
# Ejemplos deterministas (derandomize) para que CI sea reproducible; sin base de datos en disco.
# Para explorar más: BNCOURSE_HYPOTHESIS_EXAMPLES=2000 pytest tests/test_batchnorm.py
HYPO = settings(
    max_examples=int(os.environ.get("BNCOURSE_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    derandomize="BNCOURSE_HYPOTHESIS_EXAMPLES" not in os.environ,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def random_case(shape, log_scale, shift, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    scale = 10.0**log_scale
    x = (scale * (shift + rng.standard_normal(shape))).astype(dtype)
    gamma = rng.uniform(-2, 2, shape[1]).astype(dtype)
    beta = rng.uniform(-2, 2, shape[1]).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    return x, gamma, beta, dout


case = dict(
    shape=st.one_of(shapes_2d, shapes_4d),
    log_scale=st.floats(-3, 3),
    shift=st.floats(-10, 10),
    seed=st.integers(0, 2**32 - 1),
)


@HYPO
@given(**case)
def test_property_output_statistics(shape, log_scale, shift, seed):
    x, gamma, beta, _ = random_case(shape, log_scale, shift, seed)
    eps = 1e-5
    out, cache = batchnorm_forward(x, gamma, beta, eps=eps)
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    var = x.var(axis=axes)
    assert cache.count == x.size // shape[1]
    np.testing.assert_allclose(
        cache.mean, x.mean(axis=axes), rtol=1e-10, atol=1e-12 * 10.0**log_scale
    )
    np.testing.assert_allclose(cache.var, var, rtol=1e-8, atol=1e-12)
    # Cada característica sale con media beta y varianza gamma²·var/(var + eps).
    np.testing.assert_allclose(out.mean(axis=axes), beta, atol=1e-9)
    np.testing.assert_allclose(
        out.var(axis=axes), gamma**2 * var / (var + eps), rtol=1e-7, atol=1e-9
    )


@HYPO
@given(**case)
def test_property_backwards_agree_and_sum_to_zero(shape, log_scale, shift, seed):
    x, gamma, beta, dout = random_case(shape, log_scale, shift, seed)
    _, cache = batchnorm_forward(x, gamma, beta, eps=1e-5)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    dx2, dgamma2, dbeta2 = batchnorm_backward_alt(dout, cache)
    # Escala natural de dx: |gamma|·inv_std·|dout| (dx puede ser mucho menor por cancelación).
    size = np.max(np.abs(gamma) * cache.inv_std) * np.abs(dout).max()
    assert np.abs(dx - dx2).max() <= 1e-9 * size
    np.testing.assert_allclose(dgamma, dgamma2, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(dbeta, dbeta2)
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    np.testing.assert_allclose(dbeta, dout.sum(axis=axes), rtol=1e-12, atol=1e-12)
    # En entrenamiento, dx suma cero en cada característica (la media no depende de un
    # desplazamiento común de x) y su producto con x_hat suma gamma·inv_std·dgamma·eps/(var+eps),
    # que solo se anula con eps = 0.
    assert np.all(np.abs(dx.sum(axis=axes)) <= 1e-9 * cache.count * size)
    expected = gamma * cache.inv_std * dgamma * 1e-5 / (cache.var + 1e-5)
    dot = (dx * cache.x_hat).sum(axis=axes)
    assert np.all(np.abs(dot - expected) <= 1e-9 * cache.count * size)


@HYPO
@given(
    shape=st.one_of(shapes_2d, shapes_4d),
    log_a=st.floats(-3, 3),
    c=st.floats(-100, 100),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_invariant_to_affine_input(shape, log_a, c, seed):
    # BN(a·x + c) con eps·a² es BN(x) con eps, para todo a > 0.
    x, gamma, beta, _ = random_case(shape, 0.0, 0.0, seed)
    a = 10.0**log_a
    out, _ = batchnorm_forward(x, gamma, beta, eps=1e-3)
    out2, _ = batchnorm_forward(a * x + c * a, gamma, beta, eps=1e-3 * a * a)
    np.testing.assert_allclose(out2, out, atol=1e-7)


@HYPO
@given(shape=shapes_4d, seed=st.integers(0, 2**32 - 1))
def test_property_4d_is_2d_over_n_h_w(shape, seed):
    x, gamma, beta, dout = random_case(shape, 0.0, 1.0, seed)
    out4, cache4 = batchnorm_forward(x, gamma, beta)
    x2 = x.transpose(0, 2, 3, 1).reshape(-1, shape[1])
    out2, cache2 = batchnorm_forward(x2, gamma, beta)
    assert cache4.count == cache2.count == x2.shape[0]
    back = out2.reshape(shape[0], shape[2], shape[3], shape[1]).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(out4, back, atol=1e-12)
    dx4, dg4, db4 = batchnorm_backward(dout, cache4)
    dx2, dg2, db2 = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, shape[1]), cache2)
    np.testing.assert_allclose(
        dx4, dx2.reshape(shape[0], shape[2], shape[3], shape[1]).transpose(0, 3, 1, 2), atol=1e-10
    )
    np.testing.assert_allclose(dg4, dg2, atol=1e-10)
    np.testing.assert_allclose(db4, db2, atol=1e-10)


@HYPO
@given(
    shape=st.one_of(shapes_2d, shapes_4d),
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_property_inference_is_affine_and_dtype_follows_input(shape, seed, dtype):
    x, gamma, beta, dout = random_case(shape, 0.0, 0.0, seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    rmean = rng.normal(size=shape[1]).astype(dtype)
    rvar = rng.uniform(0.1, 5, size=shape[1]).astype(dtype)
    out, cache = batchnorm_forward(
        x, gamma, beta, eps=1e-3, mode="inference", running_mean=rmean, running_var=rvar
    )
    a, b = batchnorm_inference_affine(gamma, beta, rmean, rvar, eps=1e-3)
    bshape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, a.reshape(bshape) * x + b.reshape(bshape), atol=tol * 10)
    outs = [out, a, b, *batchnorm_backward(dout, cache), *batchnorm_backward_alt(dout, cache)]
    assert {o.dtype for o in outs} == {np.dtype(dtype)}
    # En inferencia BN es afín: su gradiente respecto a x es a·dout.
    dx, _, _ = batchnorm_backward(dout, cache)
    np.testing.assert_allclose(dx, a.reshape(bshape) * dout, atol=tol * 10)


def test_gamma_sigma_beta_mu_recovers_identity():
    x, *_ = random_case((10, 3), 1.0, 2.0, seed=11)
    _, cache = batchnorm_forward(x, np.ones(3), np.zeros(3), eps=1e-5)
    out, _ = batchnorm_forward(x, np.sqrt(cache.var + 1e-5), cache.mean, eps=1e-5)
    np.testing.assert_allclose(out, x, atol=1e-12)


def test_smallest_batches_accepted():
    # Dos valores por característica bastan; en 4-D cuentan N·H·W, así que N = 1 vale si H·W > 1.
    out, cache = batchnorm_forward(np.array([[1.0], [3.0]]), np.ones(1), np.zeros(1), eps=1e-12)
    np.testing.assert_allclose(out.ravel(), [-1.0, 1.0])
    out, cache = batchnorm_forward(np.ones((1, 2, 1, 2)), np.ones(2), np.full(2, 0.5))
    assert cache.count == 2 and np.all(out == 0.5)


# --------------------------------------------------------------------------------------------
# Entradas incorrectas
# --------------------------------------------------------------------------------------------

X = np.ones((4, 3))
G, B = np.ones(3), np.zeros(3)
_, TRAIN_CACHE = batchnorm_forward(np.arange(12.0).reshape(4, 3), G, B)
_, INFER_CACHE = batchnorm_forward(X, G, B, mode="inference", running_mean=B, running_var=G)
NAN_X = X.copy()
NAN_X[1, 2] = np.nan
INF_G = G.copy()
INF_G[0] = np.inf


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: batchnorm_forward(np.ones((4, 3, 2)), G, B), ValueError, "2 o 4 dimensiones"),
        (lambda: batchnorm_forward(np.ones(4), G, B), ValueError, "2 o 4 dimensiones"),
        (lambda: batchnorm_forward([[1.0, 2.0]], G, B), TypeError, "numpy.ndarray"),
        (lambda: batchnorm_forward(np.ones((4, 3), int), G, B), TypeError, "float32 o float64"),
        (lambda: batchnorm_forward(np.ones((4, 3), np.float16), G, B), TypeError, "float32"),
        (lambda: batchnorm_forward(np.ones((0, 3)), G, B), ValueError, "vacío"),
        (lambda: batchnorm_forward(X, np.ones(4), B), ValueError, "3 valores, uno por caract"),
        (lambda: batchnorm_forward(X, G, np.zeros(2)), ValueError, "«beta» debe tener 3 valores"),
        (
            lambda: batchnorm_forward(np.ones((2, 3, 2, 2)), np.ones(2), B),
            ValueError,
            "uno por canal",
        ),
        (
            lambda: batchnorm_forward(X, np.ones((3, 1)), B),
            ValueError,
            "«gamma» debe tener 1 dimensi",
        ),
        (lambda: batchnorm_forward(np.ones((1, 3)), G, B), ValueError, "al menos dos valores"),
        (
            lambda: batchnorm_forward(np.ones((1, 3, 1, 1)), G, B),
            ValueError,
            "al menos dos valores por canal",
        ),
        (lambda: batchnorm_forward(NAN_X, G, B), ValueError, "no finitos"),
        (lambda: batchnorm_forward(X, INF_G, B), ValueError, "«gamma» contiene 1 valores no"),
        (lambda: batchnorm_forward(X, G, B, eps=0.0), ValueError, "«eps» debe ser mayor que 0"),
        (lambda: batchnorm_forward(X, G, B, eps=-1e-5), ValueError, "«eps» debe ser mayor"),
        (lambda: batchnorm_forward(X, G, B, eps="1e-5"), TypeError, "«eps» debe ser un número"),
        (lambda: batchnorm_forward(X, G, B, eps=float("nan")), ValueError, "finito"),
        (lambda: batchnorm_forward(X, G, B, mode="test"), ValueError, "«mode» debe ser una"),
        (
            lambda: batchnorm_forward(X, G, B, mode="inference"),
            ValueError,
            "hacen falta «running_mean» y «running_var»",
        ),
        (
            lambda: batchnorm_forward(X, G, B, mode="inference", running_mean=B, running_var=-G),
            ValueError,
            "no negativa",
        ),
        (
            lambda: batchnorm_forward(
                X, G, B, mode="inference", running_mean=np.zeros(2), running_var=G
            ),
            ValueError,
            "«running_mean» debe tener 3",
        ),
        (
            lambda: update_running_stats(B, G, TRAIN_CACHE, convention="pytorch", momentum=-0.1),
            ValueError,
            "«momentum» debe ser mayor o igual que 0",
        ),
        (
            lambda: update_running_stats(B, G, TRAIN_CACHE, convention="keras", momentum=1.5),
            ValueError,
            "«momentum» debe ser menor o igual que 1",
        ),
        (
            lambda: update_running_stats(
                B, G, TRAIN_CACHE, convention="keras", momentum=float("nan")
            ),
            ValueError,
            "«momentum» debe ser un número finito",
        ),
        (
            lambda: update_running_stats(B, G, TRAIN_CACHE, convention="tf"),
            ValueError,
            "«convention» debe ser una",
        ),
        (
            lambda: update_running_stats(B, G, INFER_CACHE, convention="pytorch"),
            ValueError,
            "modo 'train'",
        ),
        (
            lambda: update_running_stats(B, -G, TRAIN_CACHE, convention="pytorch"),
            ValueError,
            "no negativa",
        ),
        (
            lambda: update_running_stats(np.zeros(4), G, TRAIN_CACHE, convention="pytorch"),
            ValueError,
            "«running_mean» debe tener 3",
        ),
        (
            lambda: update_running_stats(B, G, (1, 2), convention="pytorch"),
            TypeError,
            "BatchNormCache",
        ),
        (lambda: batchnorm_backward(X, ("x", "cache")), TypeError, "BatchNormCache"),
        (lambda: batchnorm_backward_alt(np.ones((4, 2)), TRAIN_CACHE), ValueError, "forma"),
        (lambda: batchnorm_backward(NAN_X, TRAIN_CACHE), ValueError, "«dout» contiene"),
        (lambda: batchnorm_backward(np.ones((4, 3, 1, 1)), TRAIN_CACHE), ValueError, "dimensiones"),
        (
            lambda: batchnorm_inference_affine(G, B, B, G, eps=0),
            ValueError,
            "«eps» debe ser mayor que 0",
        ),
        (lambda: batchnorm_inference_affine(G, B, B, np.ones(2)), ValueError, "«running_var»"),
        (lambda: batchnorm_inference_affine(G, B, B, -G), ValueError, "no negativa"),
        (
            lambda: batchnorm_inference_affine(np.ones((3, 1)), B, B, G),
            ValueError,
            "«gamma» debe tener 1 dimensi",
        ),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_cache_is_documented_dataclass():
    assert isinstance(TRAIN_CACHE, BatchNormCache)
    assert TRAIN_CACHE.mode == "train" and TRAIN_CACHE.count == 4
    assert INFER_CACHE.mode == "inference"
