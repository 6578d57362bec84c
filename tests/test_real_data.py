"""Los conjuntos reales, tal como los devuelven los cargadores (descargados si hace falta).

Con los datos en ``BNCOURSE_DATA_DIR`` o en la caché se leen de ahí; si faltan y hay conexión,
los cargadores descargan y verifican los archivos oficiales; con ``CI=true`` un conjunto que no
se puede obtener hace fallar la prueba (véase ``tests/conftest.py``).
"""

from __future__ import annotations

import numpy as np

import bncourse


def test_real_mnist(mnist_available):
    (x_train, y_train), (x_test, y_test) = bncourse.load_mnist(download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert np.bincount(y_train, minlength=10).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949
    ]  # fmt: skip
    assert np.bincount(y_test, minlength=10).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009
    ]  # fmt: skip


def test_real_cifar10(cifar_available):
    (x_train, y_train), (x_test, y_test) = bncourse.load_cifar10(download=False)
    assert x_train.shape == (50000, 32, 32, 3) and x_test.shape == (10000, 32, 32, 3)
    assert x_train.dtype == np.uint8 and y_test.dtype == np.uint8
    assert np.bincount(y_train, minlength=10).tolist() == [5000] * 10
    assert np.bincount(y_test, minlength=10).tolist() == [1000] * 10
