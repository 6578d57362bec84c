"""Pruebas de la renormalización por lotes en Keras (bncourse.keras.renorm), los minilotes no
i.i.d., ``fit(shuffle=False)`` y los ayudantes de tf.distribute (bncourse.keras.distributed)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

# DESIGN §8: torch (y torchvision, que carga triton) antes que TensorFlow en el mismo proceso.
if importlib.util.find_spec("torch") is not None:
    import torch  # noqa: F401

    if importlib.util.find_spec("torchvision") is not None:
        import torchvision  # noqa: F401

import keras
import numpy as np
import pytest
import tensorflow as tf

from bncourse.keras import (
    RenormSchedule,
    build_mlp,
    fit,
    non_iid_order,
    renorm_limits,
    replica_values,
)

ROOT = Path(__file__).resolve().parents[1]
EPS = 1e-3


def _renorm_reference(x, mu, sigma, limits, gamma, beta):
    """Las ecuaciones de Ioffe (2017) en float64."""
    mu_b, sigma_b = x.mean(axis=0), np.sqrt(x.var(axis=0) + EPS)
    r = np.clip(sigma_b / np.maximum(sigma, np.sqrt(EPS)), limits["rmin"], limits["rmax"])
    d = np.clip((mu_b - mu) / np.maximum(sigma, np.sqrt(EPS)), -limits["dmax"], limits["dmax"])
    return gamma * ((x - mu_b) / sigma_b * r + d) + beta, mu_b, sigma_b


def test_renorm_limits_follow_the_paper_schedule():
    kwargs = {"warmup_steps": 10, "r_max_steps": 20, "d_max_steps": 10}
    assert renorm_limits(0, **kwargs) == (1.0, 0.0)
    assert renorm_limits(9, **kwargs) == (1.0, 0.0)
    assert renorm_limits(10, **kwargs) == (1.0, 0.0)
    assert renorm_limits(15, **kwargs) == pytest.approx((1.5, 2.5))
    assert renorm_limits(20, **kwargs) == pytest.approx((2.0, 5.0))
    assert renorm_limits(30, **kwargs) == (3.0, 5.0)
    assert renorm_limits(10**6, **kwargs) == (3.0, 5.0)
    assert renorm_limits(0) == (3.0, 5.0)           # sin evolución: los límites finales
    assert renorm_limits(5, r_max=2.0, d_max=1.0) == (2.0, 1.0)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"step": -1}, ValueError, "«step» debe ser mayor o igual que 0"),
    ({"step": 0, "r_max": 0.5}, ValueError, "«r_max» debe ser mayor o igual que 1"),
    ({"step": 0, "d_max": -1.0}, ValueError, "«d_max» debe ser mayor o igual que 0"),
    ({"step": 0, "warmup_steps": 1.5}, TypeError, "«warmup_steps» debe ser un número entero"),
])
def test_renorm_limits_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        renorm_limits(**kwargs)


def test_keras_renorm_layer_with_a_schedule_computes_the_paper_equations():
    schedule = RenormSchedule(warmup_steps=1, r_max=1.5, d_max=0.5)
    layer = keras.layers.BatchNormalization(renorm=True, renorm_clipping=schedule.clipping,
                                            epsilon=EPS, renorm_momentum=0.9, momentum=0.9)
    step = tf.function(lambda x: layer(x, training=True))
    rng = np.random.default_rng(1)
    mu, sigma = np.zeros(5), np.ones(5)
    clipped = 0
    for k in range(4):
        schedule.on_train_batch_begin(k)
        limits = {name: float(v.numpy()) for name, v in schedule.clipping.items()}
        assert (limits["rmax"], limits["dmax"]) == (1.0, 0.0) if k == 0 else (1.5, 0.5)
        assert limits["rmin"] == pytest.approx(1 / limits["rmax"])
        x = (rng.normal(size=(12, 5)) * rng.uniform(0.2, 3, 5) + rng.normal(0, 1, 5))
        out = step(tf.constant(x, dtype=tf.float32)).numpy()
        ref, mu_b, sigma_b = _renorm_reference(x, mu, sigma, limits, 1.0, 0.0)
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
        clipped += int(np.sum(np.abs((mu_b - mu) / sigma) > limits["dmax"]))
        mu, sigma = mu + 0.1 * (mu_b - mu), sigma + 0.1 * (sigma_b - sigma)
        np.testing.assert_allclose(layer.renorm_mean.numpy(), mu, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(layer.renorm_stddev.numpy(), sigma, rtol=1e-5, atol=1e-6)
    assert clipped > 0 and schedule.steps == 4
    schedule.reset()
    assert schedule.steps == 0 and float(schedule.clipping["rmax"].numpy()) == 1.0


def test_renorm_schedule_rejects_bad_arguments():
    with pytest.raises(ValueError, match="«r_max» debe ser mayor o igual que 1"):
        RenormSchedule(r_max=0.9)


def test_build_mlp_with_renorm_keeps_the_initial_weights():
    schedule = RenormSchedule()
    renorm = build_mlp(renorm=True, renorm_clipping=schedule.clipping, renorm_momentum=0.9,
                       seed=3)
    plain = build_mlp(seed=3)
    assert renorm.name == "mlp_renorm_before"
    bn = renorm.get_layer("bn_1")
    assert bn.renorm and bn.renorm_momentum == 0.9
    assert bn.renorm_clipping["rmax"] is schedule.clipping["rmax"]
    for name in ("dense_1", "dense_2", "output"):
        for a, b in zip(renorm.get_layer(name).get_weights(), plain.get_layer(name).get_weights(),
                        strict=True):
            np.testing.assert_array_equal(a, b)
    assert not plain.get_layer("bn_1").renorm


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"batchnorm": False, "renorm": True}, "necesita «batchnorm=True»"),
    ({"renorm_clipping": {"rmax": 3.0}}, "solo tiene sentido con «renorm=True»"),
    ({"renorm": True, "renorm_clipping": {"r_max": 3.0}}, "claves «rmin», «rmax» y/o «dmax»"),
    ({"renorm": True, "renorm_momentum": 1.5}, "«renorm_momentum» debe ser menor o igual que 1"),
])
def test_build_mlp_rejects_bad_renorm_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_mlp(**kwargs)


def test_fit_with_a_renorm_schedule_updates_the_limits_every_batch():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(64, 784)).astype("float32")
    y = rng.integers(0, 10, 64)
    schedule = RenormSchedule(warmup_steps=2, r_max_steps=4, d_max_steps=4)
    net = build_mlp(renorm=True, renorm_clipping=schedule.clipping, hidden_units=(16,), seed=1)
    fit(net, x, y, x, y, epochs=2, batch_size=16, seed=1, verbose=False, callbacks=[schedule])
    assert schedule.steps == 8
    assert float(schedule.clipping["rmax"].numpy()) == pytest.approx(3.0)   # paso 7: 2 + 4 + 1
    assert float(schedule.clipping["dmax"].numpy()) == pytest.approx(5.0)


def test_non_iid_order_gives_batches_of_few_classes():
    labels = np.repeat(np.arange(10), 70)
    order = non_iid_order(labels, 32, classes_per_batch=2, seed=4)
    assert len(order) % 32 == 0 and len(set(order.tolist())) == len(order)
    batches = labels[order].reshape(-1, 32)
    for batch in batches:
        values, counts = np.unique(batch, return_counts=True)
        assert len(values) == 2 and counts.tolist() == [16, 16]
    assert len(np.unique(batches[:, 0])) > 2          # las parejas de clases cambian
    np.testing.assert_array_equal(order, non_iid_order(labels, 32, seed=4))
    assert not np.array_equal(order, non_iid_order(labels, 32, seed=5))
    one_hot = np.eye(10)[labels]
    np.testing.assert_array_equal(order, non_iid_order(one_hot, 32, seed=4))


@pytest.mark.parametrize(("args", "kwargs", "error", "message"), [
    ((np.arange(10), 5), {"classes_per_batch": 2}, ValueError, "múltiplo de «classes_per_batch»"),
    ((np.arange(10), 8), {"classes_per_batch": 2}, ValueError, "No hay ejemplos para formar"),
    ((np.array([-1, 0]), 2), {}, ValueError, "labels"),
    ((np.zeros(4, dtype=int), 0), {}, ValueError, "«batch_size» debe ser mayor o igual que 2"),
    ((np.zeros(4), 2), {}, TypeError, "«labels» debe ser de tipo entero"),
])
def test_non_iid_order_rejects_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        non_iid_order(*args, **kwargs)


def test_fit_without_shuffle_keeps_the_given_batches():
    # Con shuffle=False y una capa que recuerda su entrada, el último minilote visto es el último
    # del orden recibido.
    x = np.arange(8 * 784, dtype="float32").reshape(8, 784) / (8 * 784)
    y = np.arange(8) % 10
    net = build_mlp(hidden_units=(4,), seed=2, momentum=0.0)
    fit(net, x, y, x, y, epochs=1, batch_size=4, seed=2, shuffle=False, verbose=False, lr=1e-9)
    dense = keras.Model(net.inputs[0], net.get_layer("dense_1").output)
    last = dense(x[4:]).numpy()
    np.testing.assert_allclose(net.get_layer("bn_1").moving_mean.numpy(), last.mean(axis=0),
                               rtol=1e-4, atol=1e-6)
    with pytest.raises(TypeError, match="«shuffle» debe ser True o False"):
        fit(net, x, y, x, y, epochs=1, batch_size=4, shuffle=1)


def test_replica_values_outside_a_strategy():
    variable = keras.Variable(np.arange(3.0))
    values = replica_values(variable)
    assert len(values) == 1
    np.testing.assert_array_equal(values[0], [0.0, 1.0, 2.0])
    assert len(replica_values(tf.Variable(1.0))) == 1
    with pytest.raises(TypeError, match="«variable» debe ser una variable"):
        replica_values([1, 2])


DISTRIBUTED_SCRIPT = textwrap.dedent('''
    import numpy as np
    from bncourse import keras as bk
    import tensorflow as tf
    devices = bk.split_cpu(2)
    assert devices == ["/cpu:0", "/cpu:1"] and bk.split_cpu(2) == devices
    import keras
    strategy = tf.distribute.MirroredStrategy(devices)
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32") + 2
    for sync in (True, False):
        with strategy.scope():
            bn = keras.layers.BatchNormalization(momentum=0.0, synchronized=sync)
            bn.build((None, 3))
        data = strategy.experimental_distribute_dataset(
            tf.data.Dataset.from_tensor_slices(x).batch(8))
        strategy.run(tf.function(lambda b: bn(b, training=True)), args=(next(iter(data)),))
        copies = bk.replica_values(bn.moving_mean)
        assert len(copies) == 2
        if sync:
            for c in copies:
                np.testing.assert_allclose(c, x.mean(axis=0), rtol=1e-5)
        else:
            np.testing.assert_allclose(copies[0], x[:4].mean(axis=0), rtol=1e-5)
            np.testing.assert_allclose(copies[1], x[4:].mean(axis=0), rtol=1e-5)
            np.testing.assert_array_equal(bn.moving_mean.numpy(), copies[0])
    try:
        bk.split_cpu(3)
    except RuntimeError as error:
        assert "ya está inicializado" in str(error), error
    else:
        raise AssertionError("split_cpu(3) debía fallar tras inicializar TensorFlow")
    print("OK")
''')


def test_split_cpu_and_replica_values_under_mirrored_strategy():
    # En un proceso aparte: los dispositivos lógicos se fijan antes de inicializar TensorFlow.
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", DISTRIBUTED_SCRIPT], capture_output=True,
                            text=True, env=env, timeout=300, cwd=ROOT)
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-3000:]


def test_split_cpu_rejects_bad_counts():
    from bncourse.keras import split_cpu

    with pytest.raises(ValueError, match="«count» debe ser mayor o igual que 1"):
        split_cpu(0)
    with pytest.raises(TypeError, match="«count» debe ser un número entero"):
        split_cpu(2.0)
