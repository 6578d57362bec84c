"""MNIST preparado para el perceptrón multicapa de Keras: aplanado, en [0, 1] y *one-hot*."""

from __future__ import annotations

import os

import numpy as np

from .._checks import check_array, check_int, check_labels
from ..data import load_mnist, load_subsets

__all__ = [
    "load_prepared_mnist",
    "non_iid_order",
    "one_hot_labels",
    "prepare_images",
    "prepare_mnist",
]

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


def non_iid_order(
    labels: np.ndarray, batch_size: int, *, classes_per_batch: int = 2, seed: int = 0
) -> np.ndarray:
    """Orden de los ejemplos en el que cada minilote contiene solo ``classes_per_batch`` clases.

    Minilotes **no i.i.d.**, como los que Ioffe (2017) usa para motivar la renormalización por
    lotes: cada minilote de ``batch_size`` ejemplos reúne ``batch_size // classes_per_batch``
    ejemplos de cada una de ``classes_per_batch`` clases elegidas al azar. Los minilotes se
    forman hasta que ya no quedan clases con ejemplos suficientes, y su orden se baraja.
    Con ``bncourse.keras.fit(..., shuffle=False)`` y ``x[orden]``, ``y[orden]``, el
    entrenamiento ve exactamente esos minilotes.

    Parámetros
    ----------
    labels:
        Etiquetas enteras ``(N,)`` (0, 1, 2...) o *one-hot* ``(N, clases)``.
    batch_size:
        Tamaño de cada minilote; múltiplo de ``classes_per_batch``.
    classes_per_batch:
        Clases distintas en cada minilote (al menos 1).
    seed:
        Semilla del reparto.

    Devuelve
    --------
    Índices ``int64`` de los ejemplos usados, minilote tras minilote (los que sobran se omiten).
    """
    labels = check_array(labels, "labels", ndim=(1, 2), finite=True)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    labels = check_labels(labels, "labels", int(labels.max()) + 1 if labels.size else 1)
    classes_per_batch = check_int(classes_per_batch, "classes_per_batch", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=classes_per_batch)
    seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    if batch_size % classes_per_batch:
        raise ValueError(
            f"«batch_size» ({batch_size}) debe ser múltiplo de «classes_per_batch» "
            f"({classes_per_batch}): cada clase aporta los mismos ejemplos al minilote."
        )
    per_class = batch_size // classes_per_batch
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    pools = {int(c): list(rng.permutation(np.flatnonzero(labels == c))) for c in classes}
    batches = []
    while True:
        available = [c for c, pool in pools.items() if len(pool) >= per_class]
        if len(available) < classes_per_batch:
            break
        chosen = rng.choice(available, classes_per_batch, replace=False)
        batches.append([pools[int(c)].pop() for c in chosen for _ in range(per_class)])
    if not batches:
        raise ValueError(
            f"No hay ejemplos para formar ni un minilote de {batch_size} con "
            f"{classes_per_batch} clases de {per_class} ejemplos cada una."
        )
    order = rng.permutation(len(batches))
    return np.concatenate([np.asarray(batches[i], dtype=np.int64) for i in order])
