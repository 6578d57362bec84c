"""MNIST preparado para el perceptrón multicapa de Keras: aplanado, en [0, 1] y *one-hot*."""

from __future__ import annotations

import os

import numpy as np

from .._checks import check_array, check_int, check_labels
from ..data import load_mnist, load_subsets

__all__ = ["load_prepared_mnist", "one_hot_labels", "prepare_images", "prepare_mnist"]

MNIST_PIXELS = 28 * 28


def prepare_images(x: np.ndarray, name: str = "x", *, input_dim: int = MNIST_PIXELS) -> np.ndarray:
    """Aplana y escala imágenes a ``float32`` en [0, 1], con forma ``(N, input_dim)``.

    Parámetros
    ----------
    x:
        Imágenes ``(N, 28, 28)`` o ya aplanadas ``(N, 784)``: enteros entre 0 y 255 (como los
        devuelve :func:`bncourse.load_mnist`), que se dividen entre 255, o reales finitos que ya
        estén en [0, 1], que se dejan como están.
    name:
        Nombre del argumento en los mensajes de error.
    input_dim:
        Número de píxeles por imagen que espera el modelo (784 para MNIST).
    """
    input_dim = check_int(input_dim, "input_dim", minimum=1)
    x = check_array(x, name, ndim=(2, 3), finite=True)
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise TypeError(
            f"«{name}» debe contener números enteros (0-255) o reales en [0, 1]; es de tipo "
            f"{x.dtype}."
        )
    flat = x.reshape(len(x), -1)
    if flat.shape[1] != input_dim:
        raise ValueError(
            f"«{name}» debe tener {input_dim} píxeles por imagen (28 × 28 en MNIST); tiene "
            f"{flat.shape[1]} (forma {x.shape})."
        )
    if flat.size == 0:
        return flat.astype(np.float32)
    low, high = flat.min(), flat.max()
    if np.issubdtype(x.dtype, np.integer):
        if low < 0 or high > 255:
            raise ValueError(
                f"«{name}» es entero y debe tener valores entre 0 y 255; se encontraron valores "
                f"entre {low} y {high}."
            )
        return (flat / np.float32(255.0)).astype(np.float32)
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"«{name}» es real y debe estar ya escalado a [0, 1]; se encontraron valores entre "
            f"{low:g} y {high:g}. Si son píxeles de 0 a 255, páselos como uint8 o divídalos "
            "entre 255."
        )
    return flat.astype(np.float32)


def one_hot_labels(y: np.ndarray, name: str = "y", *, num_classes: int = 10) -> np.ndarray:
    """Convierte etiquetas enteras ``(N,)`` entre 0 y ``num_classes - 1`` en una matriz *one-hot*.

    La pérdida ``categorical_crossentropy`` del modelo de las notas espera las etiquetas así:
    la fila de un «3» es ``[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]``.
    """
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    labels = check_labels(y, name, num_classes)
    return np.eye(num_classes, dtype=np.float32)[labels]


def prepare_mnist(
    x: np.ndarray, y: np.ndarray, *, num_classes: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Prepara imágenes y etiquetas de MNIST para el perceptrón multicapa.

    Aplana las imágenes a 784 columnas, las escala a ``float32`` en [0, 1] y convierte las
    etiquetas (enteros del 0 al 9) a *one-hot*. Comprueba que cada imagen tenga 784 píxeles,
    que todos los valores sean finitos, que las etiquetas estén entre 0 y 9 y que haya una por
    imagen; si algo falla, lanza ``TypeError`` o ``ValueError`` con un mensaje en español.

    Devuelve
    --------
    ``(x, y)`` con formas ``(N, 784)`` y ``(N, num_classes)``, ambos ``float32``.
    """
    images = prepare_images(x, "x")
    labels = one_hot_labels(y, "y", num_classes=num_classes)
    if len(labels) != len(images):
        raise ValueError(
            f"«x» e «y» deben tener el mismo número de ejemplos; «x» tiene {len(images)} e "
            f"«y» tiene {len(labels)}."
        )
    return images, labels


def load_prepared_mnist(
    *,
    train_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Carga MNIST real con :func:`bncourse.load_mnist` y lo prepara con :func:`prepare_mnist`.

    Parámetros
    ----------
    train_size, test_size:
        Si se indican, se toma un subconjunto estratificado (mismas proporciones de cada dígito)
        de ese tamaño, elegido con ``seed``; con ``None`` se usan los 60 000 / 10 000 ejemplos.
    seed:
        Semilla de los subconjuntos.
    data_dir:
        Carpeta de datos (véase :func:`bncourse.default_data_dir`).

    Devuelve
    --------
    ``(x_train, y_train), (x_test, y_test)``: imágenes ``(N, 784)`` en [0, 1] y etiquetas
    *one-hot* ``(N, 10)``, todo ``float32``.
    """
    seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    (x_train, y_train), (x_test, y_test) = load_subsets(
        load_mnist, train_size, test_size, seed=seed, data_dir=data_dir
    )
    return prepare_mnist(x_train, y_train), prepare_mnist(x_test, y_test)
