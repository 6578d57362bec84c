"""Pruebas del núcleo sin marcos de trabajo: subconjuntos, semillas, historiales, figuras y
comprobaciones de argumentos. Ninguna importa PyTorch ni TensorFlow."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import types
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

import bncourse
from bncourse import History, _checks, seed_everything, stratified_indices, stratified_subset
from bncourse.plotting import PALETTE, image_grid, plot_history, set_book_style

matplotlib.use("Agg")  # sin pantalla; también vale después de importar pyplot

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------------------------------
# Importar el núcleo no importa PyTorch ni TensorFlow
# ---------------------------------------------------------------------------------------------

FRAMEWORKS = ("torch", "torchvision", "tensorflow", "keras", "jax")


@pytest.mark.parametrize(
    "code",
    [
        "import bncourse",
        "import bncourse.data",
        "import bncourse.plotting; bncourse.plotting.set_book_style()",
        "import bncourse.history, bncourse.reproducibility",
        "from bncourse import seed_everything; seed_everything(0)",
    ],
)
def test_core_imports_no_framework(code):
    check = (
        f"{code}\nimport sys\n"
        f"print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))\n"
        "print('torch' in sys.modules, 'tensorflow' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "False False"]


def test_package_exports():
    assert set(bncourse.__all__) <= set(dir(bncourse))
    assert len(bncourse.CIFAR10_CLASSES) == 10 and bncourse.CIFAR10_CLASSES[0] == "avión"
    assert bncourse.MNIST_CLASSES == tuple("0123456789")
    assert len(bncourse.CIFAR10_MEAN) == len(bncourse.CIFAR10_STD) == 3
    assert len(bncourse.MNIST_MEAN) == len(bncourse.MNIST_STD) == 1


# ---------------------------------------------------------------------------------------------
# Subconjuntos estratificados
# ---------------------------------------------------------------------------------------------


def imbalanced_labels(seed: int = 0) -> np.ndarray:
    counts = [120, 80, 55, 30, 15]
    labels = np.repeat(np.arange(5), counts)
    return np.random.default_rng(seed).permutation(labels)


def test_stratified_indices_are_deterministic():
    labels = imbalanced_labels()
    a = stratified_indices(labels, 50, seed=3)
    b = stratified_indices(labels, 50, seed=3)
    c = stratified_indices(labels, 50, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # Los índices: en orden creciente, sin repetir, dentro del rango.
    assert np.all(np.diff(a) > 0)
    assert a.min() >= 0 and a.max() < len(labels)
    # El valor por defecto de la semilla es 0 y también es determinista.
    np.testing.assert_array_equal(stratified_indices(labels, 50), stratified_indices(labels, 50))


def test_stratified_indices_keep_proportions():
    labels = imbalanced_labels()  # 300 ejemplos: 40 %, 26,7 %, 18,3 %, 10 %, 5 %
    idx = stratified_indices(labels, 60, seed=0)
    assert len(idx) == 60
    # Cuotas exactas: 24, 16, 11, 6, 3.
    assert np.bincount(labels[idx], minlength=5).tolist() == [24, 16, 11, 6, 3]


def test_stratified_indices_largest_remainders():
    labels = np.repeat([0, 1, 2], [7, 5, 3])  # tamaño 6: cuotas 2,8  2,0  1,2
    assert np.bincount(labels[stratified_indices(labels, 6)]).tolist() == [3, 2, 1]
    ties = np.repeat([0, 1], [5, 5])  # 1,5 y 1,5: el empate se resuelve por etiqueta
    assert np.bincount(ties[stratified_indices(ties, 3)]).tolist() == [2, 1]


def test_stratified_indices_sizes_and_sparse_classes():
    labels = np.array([7, 2, 7, 7, 2, 9], dtype=np.int16)  # clases no consecutivas
    assert stratified_indices(labels, 6).tolist() == [0, 1, 2, 3, 4, 5]
    one = stratified_indices(labels, 1, seed=5)
    assert len(one) == 1 and labels[one[0]] == 7  # la clase mayoritaria
    for size in range(1, 7):
        idx = stratified_indices(labels, size, seed=size)
        assert len(idx) == len(set(idx.tolist())) == size
    big = np.repeat(np.arange(10), 1000)
    idx = stratified_indices(big, 1000, seed=0)
    assert np.bincount(big[idx]).tolist() == [100] * 10


def test_stratified_subset_returns_matching_pairs():
    labels = imbalanced_labels(1)
    x = np.arange(len(labels) * 4, dtype=np.float32).reshape(len(labels), 2, 2)
    xs, ys = stratified_subset(x, labels, 30, seed=7)
    idx = stratified_indices(labels, 30, seed=7)
    np.testing.assert_array_equal(xs, x[idx])
    np.testing.assert_array_equal(ys, labels[idx])
    assert xs.dtype == np.float32 and xs.shape == (30, 2, 2)


@pytest.mark.parametrize(
    ("labels", "size", "seed", "error", "message"),
    [
        ([0, 1, 2], 2, 0, TypeError, "«labels» debe ser un numpy.ndarray; se recibió"),
        (np.array([0.0, 1.0]), 1, 0, TypeError, r"«labels» debe ser de tipo entero \(integer\)"),
        (np.zeros((2, 2), int), 1, 0, ValueError, "«labels» debe tener 1 dimensión; tiene 2"),
        (np.array([], int), 1, 0, ValueError, "«labels» está vacío"),
        (np.array([0, -1, 1]), 2, 0, ValueError, "no negativas; la menor es -1"),
        (np.arange(5), 0, 0, ValueError, "«size» debe ser mayor o igual que 1; se recibió 0"),
        (np.arange(5), 6, 0, ValueError, "«size» debe ser menor o igual que 5; se recibió 6"),
        (np.arange(5), 2.0, 0, TypeError, "«size» debe ser un número entero"),
        (np.arange(5), 2, -1, ValueError, "«seed» debe ser mayor o igual que 0"),
        (np.arange(5), 2, True, TypeError, "«seed» debe ser un número entero; se recibió True"),
    ],
)
def test_stratified_indices_bad_input(labels, size, seed, error, message):
    with pytest.raises(error, match=message):
        stratified_indices(labels, size, seed=seed)


def test_stratified_subset_bad_input():
    y = np.arange(4) % 2
    with pytest.raises(ValueError, match="mismo número de ejemplos; tienen 3 y 4"):
        stratified_subset(np.zeros((3, 2)), y, 2)
    with pytest.raises(TypeError, match="«x» debe ser un numpy.ndarray"):
        stratified_subset([[0], [1], [2], [3]], y, 2)
    with pytest.raises(ValueError, match="«x» debe tener al menos una dimensión"):
        stratified_subset(np.array(3.0), y, 2)
    with pytest.raises(TypeError, match="«y» debe ser de tipo entero"):
        stratified_subset(np.zeros((4, 2)), y.astype(float), 2)


# ---------------------------------------------------------------------------------------------
# Semillas
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def restore_env(monkeypatch):
    """seed_everything modifica variables de entorno: se restauran al terminar."""
    monkeypatch.setenv("PYTHONHASHSEED", os.environ.get("PYTHONHASHSEED", "0"))
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)


def draws():
    return (random.random(), np.random.rand(3).tolist(), np.random.randint(0, 1000, 4).tolist())  # noqa: NPY002


def test_seed_everything_reproduces_random_and_numpy(restore_env):
    assert seed_everything(123) == 123
    first = draws()
    seed_everything(123)
    assert draws() == first
    seed_everything(124)
    assert draws() != first
    assert seed_everything(np.int64(5)) == 5 and type(seed_everything(np.int64(5))) is int
    assert seed_everything(2**32 - 1, deterministic=False) == 2**32 - 1


def _fake_torch(calls: list) -> types.ModuleType:
    torch = types.ModuleType("torch")
    torch.manual_seed = lambda s: calls.append(("manual_seed", s))
    torch.use_deterministic_algorithms = lambda flag, warn_only=False: calls.append(
        ("deterministic", flag, warn_only)
    )
    torch.cuda = types.SimpleNamespace(
        is_available=lambda: False, manual_seed_all=lambda s: calls.append(("cuda", s))
    )
    torch.backends = types.SimpleNamespace(
        cudnn=types.SimpleNamespace(deterministic=False, benchmark=True)
    )
    return torch


def test_seed_everything_seeds_torch_only_if_imported(monkeypatch, restore_env):
    calls: list = []
    torch = _fake_torch(calls)
    monkeypatch.setitem(sys.modules, "torch", torch)
    seed_everything(7)
    assert calls == [("manual_seed", 7), ("deterministic", True, True)]
    assert torch.backends.cudnn.deterministic is True and torch.backends.cudnn.benchmark is False
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    calls.clear()
    seed_everything(8, deterministic=False)
    assert calls == [("manual_seed", 8)]


def test_seed_everything_seeds_keras_only_if_imported(monkeypatch, restore_env):
    calls: list = []
    keras = types.ModuleType("keras")
    keras.utils = types.SimpleNamespace(set_random_seed=lambda s: calls.append(("keras", s)))
    tf = types.ModuleType("tensorflow")
    tf.config = types.SimpleNamespace(
        experimental=types.SimpleNamespace(enable_op_determinism=lambda: calls.append("op_det"))
    )
    monkeypatch.setitem(sys.modules, "keras", keras)
    seed_everything(3)
    assert calls == [("keras", 3)]  # sin TensorFlow cargado no se toca
    calls.clear()
    monkeypatch.setitem(sys.modules, "tensorflow", tf)
    seed_everything(4)
    assert calls == [("keras", 4), "op_det"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"seed": -1}, ValueError, "«seed» debe ser mayor o igual que 0; se recibió -1"),
        ({"seed": 2**32}, ValueError, "«seed» debe ser menor o igual que 4294967295"),
        ({"seed": 1.5}, TypeError, r"«seed» debe ser un número entero; se recibió 1\.5"),
        ({"seed": "1"}, TypeError, "«seed» debe ser un número entero; se recibió '1' .de tipo str"),
        ({"seed": False}, TypeError, "«seed» debe ser un número entero"),
        ({"seed": 1, "deterministic": "sí"}, TypeError, "«deterministic» debe ser True o False"),
    ],
)
def test_seed_everything_bad_input(kwargs, error, message, restore_env):
    with pytest.raises(error, match=message):
        seed_everything(**kwargs)


# ---------------------------------------------------------------------------------------------
# Historial
# ---------------------------------------------------------------------------------------------


def make_history(label="con BN", accuracies=(0.5, 0.8, 0.9), start=10.0):
    h = History(label=label)
    for k, acc in enumerate(accuracies):
        h.append(
            train_loss=1.0 / (k + 1),
            train_accuracy=min(1.0, acc + 0.05),
            test_loss=1.2 / (k + 1),
            test_accuracy=acc,
            seconds=start * (k + 1),
        )
    return h


def test_history_append():
    h = History(label="sin BN")
    assert len(h) == 0 and h.epoch == []
    h.append(train_loss=2, train_accuracy=0.25, test_loss=2.5, test_accuracy=0.2, seconds=1.5)
    h.append(
        train_loss=np.float32(1.5),  # escalares de NumPy, como los de PyTorch o Keras
        train_accuracy=np.float64(0.5),
        test_loss=float("nan"),  # un entrenamiento que diverge se puede registrar
        test_accuracy=1,
        seconds=np.float32(3.0),
    )
    assert len(h) == 2
    assert h.epoch == [1, 2]
    assert h.train_loss == [2.0, 1.5]
    assert h.train_accuracy == [0.25, 0.5]
    assert math.isnan(h.test_loss[1]) and h.test_loss[0] == 2.5
    assert h.test_accuracy == [0.2, 1.0]
    assert h.seconds == [1.5, 3.0]
    assert all(type(v) is float for v in [*h.train_loss, *h.test_accuracy, *h.seconds])


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"train_accuracy": 1.5}, ValueError, "«train_accuracy» debe ser menor o igual que 1.0"),
        ({"test_accuracy": -0.1}, ValueError, "«test_accuracy» debe ser mayor o igual que 0.0"),
        ({"test_accuracy": float("nan")}, ValueError, "«test_accuracy» debe ser un número finito"),
        ({"test_accuracy": "0.5"}, TypeError, "«test_accuracy» debe ser un número real"),
        ({"train_loss": True}, TypeError, "«train_loss» debe ser un número real; se recibió True"),
        ({"test_loss": "1"}, TypeError, "«test_loss» debe ser un número real; se recibió '1'"),
        ({"test_loss": None}, TypeError, "«test_loss» debe ser un número real; se recibió None"),
        ({"seconds": -1.0}, ValueError, "«seconds» debe ser mayor o igual que 0.0"),
        ({"seconds": float("inf")}, ValueError, "«seconds» debe ser un número finito"),
    ],
)
def test_history_append_bad_input_changes_nothing(change, error, message):
    h = make_history(accuracies=(0.5,))
    before = h.to_rows()
    values = dict(
        train_loss=1.0, train_accuracy=0.5, test_loss=1.0, test_accuracy=0.5, seconds=20.0
    )
    with pytest.raises(error, match=message):
        h.append(**{**values, **change})
    assert h.to_rows() == before


def test_history_constructor_checks():
    with pytest.raises(TypeError, match="«label» debe ser una cadena; se recibió 3"):
        History(label=3)
    with pytest.raises(ValueError, match="misma longitud; tienen epoch=2, train_loss=1"):
        History(epoch=[1, 2], train_loss=[0.1])
    h = History(
        label="a",
        epoch=[1],
        train_loss=[1.0],
        train_accuracy=[0.5],
        test_loss=[1.1],
        test_accuracy=[0.4],
        seconds=[2.0],
    )
    assert len(h) == 1 and h.epochs_to_reach(0.4) == 1


def test_history_epochs_and_seconds_to_reach():
    h = make_history(accuracies=(0.5, 0.8, 0.9), start=10.0)
    assert h.epochs_to_reach(0.0) == 1
    assert h.epochs_to_reach(0.8) == 2  # «al menos»: el valor exacto cuenta
    assert h.epochs_to_reach(0.85) == 3
    assert h.epochs_to_reach(0.95) is None
    assert h.seconds_to_reach(0.8) == 20.0
    assert h.seconds_to_reach(0.95) == math.inf
    assert History().epochs_to_reach(0.1) is None
    for bad, error, message in [
        (1.5, ValueError, "«accuracy» debe ser menor o igual que 1.0"),
        (90, ValueError, "«accuracy» debe ser menor o igual que 1.0; se recibió 90"),
        ("0.9", TypeError, "«accuracy» debe ser un número real"),
    ]:
        with pytest.raises(error, match=message):
            h.epochs_to_reach(bad)
        with pytest.raises(error, match=message):
            h.seconds_to_reach(bad)


def test_history_rows_and_summary():
    h = make_history(accuracies=(0.5, 0.875))
    rows = h.to_rows()
    assert rows == [
        {
            "label": "con BN",
            "epoch": 1,
            "train_loss": 1.0,
            "train_accuracy": 0.55,
            "test_loss": 1.2,
            "test_accuracy": 0.5,
            "seconds": 10.0,
        },
        {
            "label": "con BN",
            "epoch": 2,
            "train_loss": 0.5,
            "train_accuracy": 0.925,
            "test_loss": 0.6,
            "test_accuracy": 0.875,
            "seconds": 20.0,
        },
    ]
    assert list(rows[0]) == ["label", "epoch", *bncourse.history.METRICS, "seconds"]
    assert h.summary() == (
        "con BN: 2 épocas, pérdida 0.500/0.600, exactitud 92.50 %/87.50 % (entrenamiento/prueba)"
    )
    assert History().summary() == "historial: sin épocas"
    assert History(label="x").summary() == "x: sin épocas"


# ---------------------------------------------------------------------------------------------
# Figuras
# ---------------------------------------------------------------------------------------------


def test_set_book_style():
    set_book_style()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [c.upper() for c in colors] == [c.upper() for c in PALETTE]
    assert len(set(PALETTE)) == len(PALETTE) == 8
    assert plt.rcParams["figure.dpi"] == 90
    assert plt.rcParams["image.cmap"] == "gray"
    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 1])
    assert line.get_color().upper() == PALETTE[0].upper()


def test_image_grid_layout_and_spanish_names():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(10)
    fig = image_grid(images, labels, bncourse.CIFAR10_CLASSES, ncols=4, title="Muestras")
    assert len(fig.axes) == 12  # 3 filas de 4; las 2 últimas celdas vacías
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 10
    assert [ax.get_title() for ax in shown] == list(bncourse.CIFAR10_CLASSES)
    assert fig.get_suptitle() == "Muestras"
    assert not any(ax.axison for ax in fig.axes)


def test_image_grid_grayscale_and_defaults():
    images = np.zeros((3, 28, 28), np.uint8)
    fig = image_grid(images)  # ncols se reduce al número de imágenes
    assert len(fig.axes) == 3
    assert all(ax.get_title() == "" for ax in fig.axes)
    assert fig.axes[0].images[0].get_cmap().name == "gray"
    fig = image_grid(images.astype(np.float32) - 0.5, np.array([4, 0, 9]))
    assert [ax.get_title() for ax in fig.axes] == ["4", "0", "9"]
    fig = image_grid(np.ones((2, 8, 8, 3), np.float64), ncols=1)
    assert len(fig.axes) == 2


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (([[0]],), {}, TypeError, "«images» debe ser un numpy.ndarray"),
        ((np.zeros((4, 4)),), {}, ValueError, "«images» debe tener 3 o 4 dimensiones; tiene 2"),
        ((np.zeros((2, 4, 4, 4)),), {}, ValueError, r"3 canales al final \(N, H, W, 3\)"),
        ((np.zeros((0, 4, 4)),), {}, ValueError, "entre 1 y 200 imágenes; contiene 0"),
        ((np.zeros((201, 2, 2)),), {}, ValueError, "entre 1 y 200 imágenes; contiene 201"),
        ((np.full((1, 2, 2), np.nan),), {}, ValueError, "«images» contiene 4 valores no finitos"),
        ((np.zeros((1, 2, 2), bool),), {}, TypeError, r"«images» debe ser de tipo numérico"),
        ((np.full((1, 2, 2, 3), 2.0),), {}, ValueError, "deshacer la normalización"),
        ((np.zeros((2, 2, 2)), np.array([0])), {}, ValueError, r"una etiqueta por imagen \(2\)"),
        ((np.zeros((1, 2, 2)), np.array([0.0])), {}, TypeError, "«labels» debe ser de tipo entero"),
        ((np.zeros((1, 2, 2)), np.array([0]), "ab"), {}, TypeError, "«class_names» debe ser una secuencia"),
        ((np.zeros((1, 2, 2)), np.array([0]), [1, 2]), {}, TypeError, "solo cadenas"),
        ((np.zeros((1, 2, 2)), None, ["a"]), {}, ValueError, "solo tiene sentido si se pasan «labels»"),
        ((np.zeros((1, 2, 2)), np.array([3]), ["a", "b"]), {}, ValueError, "la etiqueta 3, pero «class_names» solo tiene 2"),
        ((np.zeros((1, 2, 2)), np.array([-1]), ["a", "b"]), {}, ValueError, "no negativas"),
        ((np.zeros((1, 2, 2)),), {"ncols": 0}, ValueError, "«ncols» debe ser mayor o igual que 1"),
        ((np.zeros((1, 2, 2)),), {"ncols": 2.0}, TypeError, "«ncols» debe ser un número entero"),
        ((np.zeros((1, 2, 2)),), {"title": 3}, TypeError, "«title» debe ser una cadena o None"),
    ],
)  # fmt: skip
def test_image_grid_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        image_grid(*args, **kwargs)
    assert plt.get_fignums() == []  # no deja figuras a medias


def test_plot_history_one_history():
    h = make_history(accuracies=(0.5, 0.8, 0.9))
    fig = plot_history(h, title="Comparación")
    assert len(fig.axes) == 2
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_xlabel() == acc_ax.get_xlabel() == "Época"
    assert loss_ax.get_ylabel() == "Pérdida" and loss_ax.get_title() == "Pérdida"
    assert acc_ax.get_ylabel() == "Exactitud (%)" and acc_ax.get_title() == "Exactitud"
    labels = [line.get_label() for line in acc_ax.get_lines()]
    assert labels == ["con BN (entrenamiento)", "con BN (prueba)"]
    train, test = acc_ax.get_lines()
    np.testing.assert_allclose(test.get_ydata(), [50.0, 80.0, 90.0])  # porcentajes
    assert train.get_linestyle() == "--" and test.get_linestyle() == "-"
    np.testing.assert_allclose(loss_ax.get_lines()[1].get_ydata(), h.test_loss)
    assert fig.get_suptitle() == "Comparación"


def test_plot_history_several_histories():
    a, b = make_history("con BN"), make_history("sin BN", accuracies=(0.3, 0.4))
    fig = plot_history([a, b], metrics=("accuracy",))
    assert len(fig.axes) == 1
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4
    assert [line.get_label() for line in lines] == [
        "con BN (entrenamiento)",
        "con BN (prueba)",
        "sin BN (entrenamiento)",
        "sin BN (prueba)",
    ]
    assert lines[0].get_color() == lines[1].get_color() == PALETTE[0]
    assert lines[2].get_color() == PALETTE[1]
    fig = plot_history({"lote 8": a, "lote 128": b}, metrics=["loss", "accuracy"])
    assert len(fig.axes) == 2
    assert fig.axes[0].get_lines()[3].get_label() == "lote 128 (prueba)"
    fig = plot_history([make_history(label="")])
    assert fig.axes[0].get_lines()[0].get_label() == "configuración 1 (entrenamiento)"


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((None,), {}, TypeError, "«histories» debe ser un History, una lista de History"),
        (("con BN",), {}, TypeError, "«histories» debe ser un History"),
        (([],), {}, ValueError, "«histories» está vacío"),
        (([1],), {}, TypeError, "Cada historial debe ser un History; se recibió 1"),
        (({1: History()},), {}, TypeError, "Las claves de «histories» deben ser cadenas"),
        ((History(label="vacío"),), {}, ValueError, "El historial «vacío» no tiene ninguna época"),
        ((make_history(),), {"metrics": "loss"}, TypeError, "«metrics» debe ser una lista o tupla"),
        ((make_history(),), {"metrics": 3}, TypeError, "«metrics» debe ser una lista o tupla"),
        ((make_history(),), {"metrics": []}, ValueError, "«metrics» debe ser una lista no vacía"),
        ((make_history(),), {"metrics": ["acc"]}, ValueError, "Métrica desconocida 'acc'"),
        ((make_history(),), {"metrics": ["loss", "loss"]}, ValueError, "métricas repetidas"),
        ((make_history(),), {"title": 1}, TypeError, "«title» debe ser una cadena o None"),
    ],
)  # fmt: skip
def test_plot_history_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        plot_history(*args, **kwargs)
    assert plt.get_fignums() == []


# ---------------------------------------------------------------------------------------------
# Comprobaciones de argumentos (_checks)
# ---------------------------------------------------------------------------------------------


def test_describe():
    assert _checks.describe(np.zeros((2, 3), np.float32)) == (
        "un arreglo de forma (2, 3) y tipo float32"
    )
    assert _checks.describe("hola") == "'hola' (de tipo str)"
    long = _checks.describe("x" * 100)
    assert long.endswith("... (de tipo str)") and len(long) < 80


def test_check_int():
    assert _checks.check_int(3, "n") == 3
    value = _checks.check_int(np.int64(4), "n", minimum=0, maximum=4)
    assert value == 4 and type(value) is int
    with pytest.raises(TypeError, match="«n» debe ser un número entero; se recibió True"):
        _checks.check_int(True, "n")
    with pytest.raises(TypeError, match=r"se recibió 3\.0 \(de tipo float\)"):
        _checks.check_int(3.0, "n")
    with pytest.raises(ValueError, match="«n» debe ser mayor o igual que 1; se recibió 0"):
        _checks.check_int(0, "n", minimum=1)
    with pytest.raises(ValueError, match="«n» debe ser menor o igual que 9; se recibió 10"):
        _checks.check_int(10, "n", maximum=9)


def test_check_float():
    assert _checks.check_float(2, "x") == 2.0
    assert type(_checks.check_float(np.float32(0.5), "x")) is float
    with pytest.raises(TypeError, match="«x» debe ser un número real; se recibió False"):
        _checks.check_float(False, "x")
    with pytest.raises(TypeError, match="«x» debe ser un número real; se recibió '1'"):
        _checks.check_float("1", "x")
    for bad in (float("nan"), float("inf"), -np.inf):
        with pytest.raises(ValueError, match="«x» debe ser un número finito"):
            _checks.check_float(bad, "x")
    assert _checks.check_float(0.0, "x", minimum=0.0) == 0.0
    with pytest.raises(ValueError, match="«eps» debe ser mayor que 0.0; se recibió 0.0"):
        _checks.check_float(0.0, "eps", minimum=0.0, strict_minimum=True)
    with pytest.raises(ValueError, match="«x» debe ser mayor o igual que 0.0; se recibió -1.0"):
        _checks.check_float(-1, "x", minimum=0.0)
    with pytest.raises(ValueError, match="«x» debe ser menor o igual que 1.0; se recibió 2.0"):
        _checks.check_float(2, "x", maximum=1.0)


def test_check_bool_and_choice():
    assert _checks.check_bool(True, "b") is True
    assert _checks.check_bool(np.bool_(False), "b") is False
    for bad in (1, "True", None):
        with pytest.raises(TypeError, match="«b» debe ser True o False"):
            _checks.check_bool(bad, "b")
    assert _checks.check_choice("bn", "norm", ("bn", "ln")) == "bn"
    with pytest.raises(
        ValueError, match="«norm» debe ser una de estas opciones: 'bn', 'ln'; se recibió 'gn'"
    ):
        _checks.check_choice("gn", "norm", ("bn", "ln"))


def test_check_array():
    a = np.zeros((2, 3), np.float32)
    assert _checks.check_array(a, "a", ndim=2, dtype=np.floating, finite=True) is a
    assert _checks.check_array(a, "a", ndim=(1, 2)) is a
    with pytest.raises(TypeError, match="«a» debe ser un numpy.ndarray; se recibió"):
        _checks.check_array([1, 2], "a")
    with pytest.raises(
        ValueError, match=r"«a» debe tener 3 o 4 dimensiones; tiene 2 \(forma \(2, 3\)\)"
    ):
        _checks.check_array(a, "a", ndim=(3, 4))
    with pytest.raises(TypeError, match="«a» debe ser de tipo uint8; es de tipo float32"):
        _checks.check_array(a, "a", dtype=np.uint8)
    with pytest.raises(
        TypeError, match=r"«a» debe ser de tipo entero \(integer\); es de tipo float32"
    ):
        _checks.check_array(a, "a", dtype=np.integer)
    with pytest.raises(
        TypeError, match=r"de tipo real de coma flotante \(floating\); es de tipo int64"
    ):
        _checks.check_array(np.zeros(2, np.int64), "a", dtype=np.floating)
    with pytest.raises(TypeError, match="«a» debe ser de tipo inexact"):
        _checks.check_array(np.zeros(2, np.int64), "a", dtype=np.inexact)
    bad = np.array([1.0, np.nan, np.inf])
    with pytest.raises(ValueError, match="«a» contiene 2 valores no finitos"):
        _checks.check_array(bad, "a", finite=True)
    _checks.check_array(np.array([1, 2]), "a", finite=True)  # los enteros siempre son finitos


def test_check_labels():
    y = np.array([0, 3, 9])
    assert _checks.check_labels(y, "y", 10) is y
    with pytest.raises(
        ValueError,
        match="«y» debe contener etiquetas enteras entre 0 y 2; se encontraron valores entre 0 y 9",
    ):
        _checks.check_labels(y, "y", 3)
    with pytest.raises(ValueError, match="entre -1 y 1"):
        _checks.check_labels(np.array([-1, 1]), "y", 3)
    with pytest.raises(TypeError, match="«y» debe ser de tipo entero"):
        _checks.check_labels(y.astype(float), "y", 10)
    with pytest.raises(ValueError, match="«y» debe tener 1 dimensión; tiene 2"):
        _checks.check_labels(y[None], "y", 10)
    assert _checks.check_labels(np.array([], int), "y", 10).size == 0
