"""Pruebas de bncourse.keras: el MLP del capítulo, la preparación de MNIST y el entrenamiento."""

from __future__ import annotations

import contextlib
import importlib.util
import io

# DESIGN §8: si en este mismo proceso de pytest corren también las pruebas de PyTorch, torch y
# torchvision (que carga triton) tienen que cargarse antes que TensorFlow; al revés, triton
# termina el proceso. Importar solo torch no basta: seed_everything, con torch cargado, llama a
# torch.use_deterministic_algorithms, que carga triton de forma perezosa.
if importlib.util.find_spec("torch") is not None:
    import torch  # noqa: F401

    if importlib.util.find_spec("torchvision") is not None:
        import torchvision  # noqa: F401

import keras
import numpy as np
import pytest
import tensorflow as tf

import bncourse
from bncourse.keras import (
    EpochLogger,
    build_mlp,
    evaluate,
    fit,
    load_prepared_mnist,
    predict,
    prepare_mnist,
)

# (nombres de las capas, parámetros totales, parámetros entrenables) del MLP 784-512-256-10.
ARCHITECTURES = {
    "before": (
        {},
        ["dense_1", "bn_1", "relu_1", "dense_2", "bn_2", "relu_2", "output"],
        538_890,
        537_354,
    ),
    "after": (
        {"position": "after"},
        ["dense_1", "relu_1", "bn_1", "dense_2", "relu_2", "bn_2", "output"],
        538_890,
        537_354,
    ),
    "no_bias": (
        {"use_bias": False},
        ["dense_1", "bn_1", "relu_1", "dense_2", "bn_2", "relu_2", "output"],
        538_122,
        536_586,
    ),
    "no_bn": (
        {"batchnorm": False},
        ["dense_1", "relu_1", "dense_2", "relu_2", "output"],
        535_818,
        535_818,
    ),
}

LAYER_TYPES = {
    "dense": keras.layers.Dense,
    "bn": keras.layers.BatchNormalization,
    "relu": keras.layers.Activation,
    "output": keras.layers.Dense,
}


def _trainable_count(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("option", list(ARCHITECTURES))
def test_layer_order_shapes_and_parameter_counts(option):
    kwargs, names, total, trainable = ARCHITECTURES[option]
    model = build_mlp(seed=0, **kwargs)
    assert [layer.name for layer in model.layers] == names
    for layer in model.layers:
        assert isinstance(layer, LAYER_TYPES[layer.name.split("_")[0]])
    widths = {"1": 512, "2": 256, "output": 10}
    for layer in model.layers:
        assert layer.output.shape == (None, widths[layer.name.split("_")[-1]])
    assert model.input_shape == (None, 784)
    assert model.count_params() == total
    assert _trainable_count(model) == trainable
    probs = keras.ops.convert_to_numpy(model(np.zeros((3, 784), np.float32), training=False))
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_bias_only_dropped_from_hidden_layers():
    model = build_mlp(use_bias=False, seed=0)
    assert model.get_layer("dense_1").bias is None
    assert model.get_layer("dense_2").bias is None
    assert model.get_layer("output").bias is not None  # ninguna BN detrás de la salida


def test_batchnorm_layer_holds_four_tensors_with_keras_defaults():
    bn = build_mlp(seed=0).get_layer("bn_1")
    assert [w.path.split("/")[-1] for w in bn.weights] == [
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
    ]
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    assert bn.momentum == 0.99 and bn.epsilon == 1e-3
    custom = build_mlp(momentum=0.9, epsilon=1e-5, seed=0).get_layer("bn_2")
    assert custom.momentum == 0.9 and custom.epsilon == 1e-5


def test_other_sizes_and_activations():
    model = build_mlp(hidden_units=(100, 100, 100), activation="sigmoid", input_dim=20, seed=1)
    assert [layer.name for layer in model.layers][:3] == ["dense_1", "bn_1", "sigmoid_1"]
    assert model.input_shape == (None, 20)
    assert model.get_layer("dense_3").output.shape == (None, 100)


def test_same_seed_same_weights_with_or_without_batchnorm():
    a, b = build_mlp(seed=7), build_mlp(seed=7)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    plain, after = build_mlp(seed=7, batchnorm=False), build_mlp(seed=7, position="after")
    for name in ("dense_1", "dense_2", "output"):
        kernel = a.get_layer(name).get_weights()[0]
        np.testing.assert_array_equal(kernel, plain.get_layer(name).get_weights()[0])
        np.testing.assert_array_equal(kernel, after.get_layer(name).get_weights()[0])
    other = build_mlp(seed=8)
    assert not np.array_equal(a.get_weights()[0], other.get_weights()[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"batchnorm": "sí"}, TypeError, "«batchnorm» debe ser True o False"),
        ({"position": "antes"}, ValueError, "«position» debe ser una de estas opciones"),
        ({"use_bias": 1}, TypeError, "«use_bias» debe ser True o False"),
        ({"hidden_units": 512}, TypeError, "«hidden_units» debe ser una secuencia"),
        ({"hidden_units": (512, 0)}, ValueError, r"«hidden_units\[1\]» debe ser mayor"),
        ({"activation": "gelu"}, ValueError, "«activation» debe ser una de"),
        ({"input_dim": 0}, ValueError, "«input_dim» debe ser mayor o igual que 1"),
        ({"momentum": 1.5}, ValueError, "«momentum» debe ser menor o igual que 1"),
        ({"epsilon": 0.0}, ValueError, "«epsilon» debe ser mayor que 0"),
        ({"seed": -1}, ValueError, "«seed» debe ser mayor o igual que 0"),
        ({"name": "mi modelo"}, ValueError, "«name» debe ser un identificador"),
    ],
)
def test_build_mlp_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        build_mlp(**kwargs)


# ---------------------------------------------------------------------------------------------
# Preparación de los datos
# ---------------------------------------------------------------------------------------------


def _fake_images(n: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), np.arange(n, dtype=np.uint8) % 10


def test_prepare_mnist_flattens_scales_and_one_hot_encodes():
    x, y = _fake_images()
    x[0, 0, 0], x[1, 0, 0] = 0, 255
    px, py = prepare_mnist(x, y)
    assert px.shape == (6, 784) and px.dtype == np.float32
    assert py.shape == (6, 10) and py.dtype == np.float32
    np.testing.assert_allclose(px, x.reshape(6, -1) / 255.0, rtol=1e-6)
    assert px.min() == 0.0 and px.max() == 1.0
    np.testing.assert_array_equal(py.argmax(axis=1), y)
    np.testing.assert_array_equal(py.sum(axis=1), 1.0)
    # Imágenes ya aplanadas y escaladas se aceptan tal cual.
    again, _ = prepare_mnist(px, y.astype(np.int64))
    np.testing.assert_array_equal(again, px)


@pytest.mark.parametrize(
    ("x", "y", "error", "message"),
    [
        (np.zeros((4, 28, 27), np.uint8), np.zeros(4, np.uint8), ValueError, "784 píxeles"),
        (np.zeros((4, 100), np.float32), np.zeros(4, np.uint8), ValueError, "tiene 100"),
        (np.zeros((4, 784), np.float32), np.array([0, 1, 10, 3]), ValueError, "entre 0 y 9"),
        (np.zeros((4, 784), np.float32), np.array([0, -1, 2, 3]), ValueError, "entre 0 y 9"),
        (np.zeros((4, 784), np.float32), np.zeros(4, np.float32), TypeError, "«y» debe ser"),
        (np.full((4, 784), np.nan, np.float32), np.zeros(4, np.uint8), ValueError, "no finitos"),
        (np.full((4, 784), 255.0), np.zeros(4, np.uint8), ValueError, "escalado a \\[0, 1\\]"),
        (np.full((4, 784), 300), np.zeros(4, np.uint8), ValueError, "entre 0 y 255"),
        (np.zeros((4, 784), np.float32), np.zeros(3, np.uint8), ValueError, "mismo número"),
        ([[0.0] * 784], np.zeros(1, np.uint8), TypeError, "numpy.ndarray"),
    ],
)
def test_prepare_mnist_rejects_bad_input(x, y, error, message):
    with pytest.raises(error, match=message):
        prepare_mnist(x, y)


def test_load_prepared_mnist_stratified_subsets(mnist_available):
    (x_train, y_train), (x_test, y_test) = load_prepared_mnist(train_size=500, test_size=100)
    assert x_train.shape == (500, 784) and y_train.shape == (500, 10)
    assert x_test.shape == (100, 784) and y_test.shape == (100, 10)
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert np.all(np.bincount(y_train.argmax(axis=1), minlength=10) >= 40)
    with pytest.raises(ValueError, match="«train_size» debe ser menor o igual que 60000"):
        load_prepared_mnist(train_size=60_001)


# ---------------------------------------------------------------------------------------------
# Entrenamiento
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_data():
    """Datos sintéticos separables: basta para probar la mecánica de fit en milisegundos."""
    rng = np.random.default_rng(0)
    y = np.arange(200) % 10
    centers = rng.uniform(0.0, 1.0, size=(10, 784)).astype(np.float32)
    x = np.clip(centers[y] + rng.normal(0.0, 0.05, size=(200, 784)), 0.0, 1.0)
    return x.astype(np.float32), y.astype(np.int64)


def _small_model(seed: int = 0) -> keras.Model:
    return build_mlp(hidden_units=(32,), seed=seed)


@pytest.fixture(scope="module")
def trained(tiny_data):
    """Un entrenamiento corto que comparten varias pruebas (compilar cuesta segundos)."""
    x, y = tiny_data
    model = _small_model(seed=3)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        history = fit(model, x, y, x[:50], y[:50], epochs=3, batch_size=32, seed=5, label="con BN")
    return model, history, out.getvalue()


def test_fit_returns_history_and_prints_one_line_per_epoch(trained):
    _, history, printed = trained
    assert isinstance(history, bncourse.History)
    assert history.label == "con BN" and history.epoch == [1, 2, 3]
    for name in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds"):
        values = getattr(history, name)
        assert len(values) == 3 and all(isinstance(v, float) for v in values)
    assert all(0.0 <= a <= 1.0 for a in history.train_accuracy + history.test_accuracy)
    assert history.seconds == sorted(history.seconds)
    assert history.test_accuracy[-1] > 0.9  # datos separables: aprende
    lines = printed.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("con BN: época 1/3  pérdida ")
    assert "(entrenamiento/prueba)" in lines[-1]


def test_fit_is_reproducible_with_the_same_seed(tiny_data, trained):
    x, y = tiny_data
    model = _small_model(seed=3)
    fit(model, x, y, x[:50], y[:50], epochs=3, batch_size=32, seed=5, verbose=False)
    for a, b in zip(model.get_weights(), trained[0].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_fit_accepts_one_hot_labels_and_stops_on_divergence(tiny_data):
    x, y = tiny_data
    onehot = np.eye(10, dtype=np.float32)[y]
    history = fit(
        build_mlp(batchnorm=False, hidden_units=(32,), seed=0),
        x,
        onehot,
        x,
        onehot,
        epochs=5,
        optimizer="sgd",
        lr=1e30,
        verbose=False,
    )
    assert len(history) < 5 and not np.isfinite(history.train_loss[-1])


def test_evaluate_matches_keras_and_uses_inference_mode(tiny_data, trained):
    x, y = tiny_data
    model = trained[0]
    loss, accuracy = evaluate(model, x, y)
    keras_loss, keras_accuracy = model.evaluate(x, np.eye(10)[y], verbose=0, batch_size=200)
    assert loss == pytest.approx(keras_loss, rel=1e-4)
    assert accuracy == pytest.approx(keras_accuracy, abs=1e-6)
    probs = predict(model, x, batch_size=64)  # bloques de 64, 64, 64 y 8
    assert probs.shape == (200, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, model.predict(x, verbose=0), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="«x» debe tener 784 columnas"):
        predict(model, x[:, :100])
    # En modo inferencia, la predicción de una imagen no depende del resto del lote.
    alone = keras.ops.convert_to_numpy(model(x[:1], training=False))
    batch = keras.ops.convert_to_numpy(model(x[:20], training=False))
    np.testing.assert_allclose(alone[0], batch[0], rtol=1e-5, atol=1e-7)


def test_fit_calls_extra_callbacks_after_recording_the_epoch(tiny_data):
    x, y = tiny_data

    class Spy(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_epoch_end(self, epoch, logs=None):
            # La evaluación en prueba de la época ya está hecha y el modelo es el que se entrena.
            self.seen.append((epoch, "val_accuracy" in (logs or {}), self.model is model))

    model = _small_model(seed=1)
    spy = Spy()
    history = fit(model, x, y, x[:50], y[:50], epochs=2, batch_size=50, seed=2, verbose=False,
                  callbacks=[spy])
    assert spy.seen == [(0, True, True), (1, True, True)]
    assert len(history) == 2
    with pytest.raises(TypeError, match="«callbacks» debe ser una lista de callbacks"):
        fit(model, x, y, x, y, epochs=1, verbose=False, callbacks=spy)
    with pytest.raises(TypeError, match=r"«callbacks\[0\]» debe ser un callback de Keras"):
        fit(model, x, y, x, y, epochs=1, verbose=False, callbacks=["no"])


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"x_train": np.zeros((200, 100), np.float32)}, ValueError, "tiene 100"),
        ({"x_test": np.zeros((50, 28, 28), np.float32)}, ValueError, "debe tener 2 dimensiones"),
        ({"y_train": np.full(200, 10)}, ValueError, "entre 0 y 9"),
        ({"y_test": np.eye(10)[np.arange(50) % 10] * 2}, ValueError, "debe ser one-hot"),
        ({"x_train": np.full((200, 784), np.inf, np.float32)}, ValueError, "no finitos"),
        ({"y_train": np.zeros(199, np.int64)}, ValueError, "mismo número"),
        ({"epochs": 0}, ValueError, "«epochs» debe ser mayor o igual que 1"),
        ({"lr": 0.0}, ValueError, "«lr» debe ser mayor que 0"),
        ({"optimizer": "rmsprop"}, ValueError, "«optimizer» debe ser una de"),
        ({"model": "mlp"}, TypeError, "«model» debe ser un modelo de Keras"),
    ],
)
def test_fit_rejects_bad_input(tiny_data, change, error, message):
    x, y = tiny_data
    args = {
        "model": _small_model(),
        "x_train": x,
        "y_train": y,
        "x_test": x[:50],
        "y_test": y[:50],
        "epochs": 1,
    }
    args.update(change)
    with pytest.raises(error, match=message):
        fit(
            args.pop("model"),
            args.pop("x_train"),
            args.pop("y_train"),
            args.pop("x_test"),
            args.pop("y_test"),
            verbose=False,
            **args,
        )


def test_epoch_logger_can_skip_epochs(tiny_data, capsys):
    x, y = tiny_data
    model = _small_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(50)
    model.fit(data, epochs=5, verbose=0, shuffle=False, callbacks=[EpochLogger("x", every=2)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "x: época 2/5",
        "x: época 4/5",
        "x: época 5/5",
    ]
    assert "(entrenamiento/prueba)" not in lines[0]  # sin datos de validación
    with pytest.raises(ValueError, match="«every» debe ser mayor o igual que 1"):
        EpochLogger(every=0)
