"""Datos reales de MNIST y CIFAR-10 como tensores de PyTorch y ``DataLoader`` reproducibles.

La receta clásica aplica ``transforms.ToTensor()`` y ``transforms.Normalize(...)`` imagen a
imagen dentro del ``DataLoader``. Con conjuntos que caben en memoria es mucho más rápido hacer
esa misma conversión una sola vez sobre todo el arreglo: :func:`to_image_tensor` da exactamente
el mismo resultado (las pruebas lo comparan con ``torchvision``) y el bucle de entrenamiento solo
tiene que recorrer tensores ya preparados.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from .. import data as core_data
from .._checks import check_array, check_bool, check_int, check_labels, describe

__all__ = [
    "DEFAULT_CIFAR10_MEAN",
    "DEFAULT_CIFAR10_STD",
    "cifar10_tensors",
    "make_loader",
    "mnist_tensors",
    "to_image_tensor",
]

DEFAULT_CIFAR10_MEAN = (0.5, 0.5, 0.5)
"""Media de ``Normalize`` en la receta clásica de PyTorch para CIFAR-10 (lleva [0, 1] a [-1, 1])."""
DEFAULT_CIFAR10_STD = (0.5, 0.5, 0.5)
"""Desviación de ``Normalize`` en la receta clásica de PyTorch para CIFAR-10."""


def _check_stats(values: Sequence[float], name: str, channels: int) -> torch.Tensor:
    if isinstance(values, str) or not isinstance(values, Sequence) or len(values) != channels:
        raise ValueError(
            f"«{name}» debe ser una secuencia de {channels} números (uno por canal); se recibió "
            f"{describe(values)}."
        )
    tensor = torch.tensor([float(v) for v in values], dtype=torch.float32)
    if not torch.all(torch.isfinite(tensor)):
        raise ValueError(f"«{name}» debe contener números finitos; se recibió {values!r}.")
    if name == "std" and torch.any(tensor <= 0):
        raise ValueError(f"«std» debe ser positiva en cada canal; se recibió {values!r}.")
    return tensor


def to_image_tensor(
    images: np.ndarray, mean: Sequence[float] | None = None, std: Sequence[float] | None = None
) -> torch.Tensor:
    """Convierte imágenes ``uint8`` en un tensor ``float32`` ``(N, C, H, W)`` normalizado.

    Equivale a aplicar ``ToTensor()`` (escala a [0, 1] y pone los canales primero) y, si se dan
    ``mean`` y ``std``, ``Normalize(mean, std)`` a cada imagen, pero de una sola vez.

    Parámetros
    ----------
    images:
        Arreglo ``uint8`` de forma ``(N, H, W)`` (escala de grises) o ``(N, H, W, C)``.
    mean, std:
        Media y desviación típica por canal (en la escala [0, 1]), o ``None`` para no normalizar.
    """
    images = check_array(images, "images", ndim=(3, 4), dtype=np.uint8)
    if images.ndim == 3:
        images = images[..., None]
    channels = images.shape[-1]
    if channels not in (1, 3):
        raise ValueError(
            f"«images» debe tener 1 o 3 canales al final (N, H, W, C); tiene forma {images.shape}."
        )
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)
    if (mean is None) != (std is None):
        raise ValueError("«mean» y «std» deben darse juntos o ninguno de los dos.")
    if mean is not None and std is not None:
        m = _check_stats(mean, "mean", channels).view(1, -1, 1, 1)
        s = _check_stats(std, "std", channels).view(1, -1, 1, 1)
        x = x.sub_(m).div_(s)
    return x.contiguous()


def _labels_tensor(labels: np.ndarray, n: int) -> torch.Tensor:
    labels = check_labels(labels, "labels", 10)
    if len(labels) != n:
        raise ValueError(
            f"Debe haber una etiqueta por imagen: hay {n} imágenes y {len(labels)} etiquetas."
        )
    return torch.from_numpy(labels.astype(np.int64))


def _subset(x, y, size, seed, name):
    if size is None:
        return x, y
    size = check_int(size, name, minimum=10, maximum=len(y))
    return core_data.stratified_subset(x, y, size, seed=seed)


def cifar10_tensors(
    train_size: int | None = None,
    test_size: int | None = None,
    *,
    mean: Sequence[float] = DEFAULT_CIFAR10_MEAN,
    std: Sequence[float] = DEFAULT_CIFAR10_STD,
    seed: int = 0,
    data_dir=None,
) -> tuple[TensorDataset, TensorDataset]:
    """CIFAR-10 real como dos ``TensorDataset`` (entrenamiento, prueba) ya normalizados.

    Parámetros
    ----------
    train_size, test_size:
        Tamaño de un subconjunto estratificado de cada parte, o ``None`` para usarla entera
        (50 000 y 10 000 imágenes).
    mean, std:
        Normalización por canal; por defecto la de la receta clásica, ``(0.5, 0.5, 0.5)``. Para
        estandarizar, use ``bncourse.CIFAR10_MEAN`` y ``bncourse.CIFAR10_STD``.
    seed:
        Semilla de los subconjuntos.
    data_dir:
        Carpeta de datos (véase :func:`bncourse.load_cifar10`).
    """
    seed = check_int(seed, "seed", minimum=0)
    (x_train, y_train), (x_test, y_test) = core_data.load_cifar10(data_dir)
    x_train, y_train = _subset(x_train, y_train, train_size, seed, "train_size")
    x_test, y_test = _subset(x_test, y_test, test_size, seed, "test_size")
    return (
        TensorDataset(to_image_tensor(x_train, mean, std), _labels_tensor(y_train, len(x_train))),
        TensorDataset(to_image_tensor(x_test, mean, std), _labels_tensor(y_test, len(x_test))),
    )


def mnist_tensors(
    train_size: int | None = None,
    test_size: int | None = None,
    *,
    flatten: bool = True,
    standardize: bool = False,
    seed: int = 0,
    data_dir=None,
) -> tuple[TensorDataset, TensorDataset]:
    """MNIST real como dos ``TensorDataset`` (entrenamiento, prueba) con píxeles en [0, 1].

    Parámetros
    ----------
    train_size, test_size:
        Tamaño de un subconjunto estratificado de cada parte, o ``None`` para usarla entera.
    flatten:
        Si es ``True`` (por defecto), cada imagen es un vector de 784 valores, la entrada de un
        perceptrón multicapa; si no, un tensor ``(1, 28, 28)``.
    standardize:
        Si es ``True``, resta ``bncourse.MNIST_MEAN`` y divide por ``bncourse.MNIST_STD``.
    seed:
        Semilla de los subconjuntos.
    """
    flatten = check_bool(flatten, "flatten")
    standardize = check_bool(standardize, "standardize")
    seed = check_int(seed, "seed", minimum=0)
    (x_train, y_train), (x_test, y_test) = core_data.load_mnist(data_dir)
    x_train, y_train = _subset(x_train, y_train, train_size, seed, "train_size")
    x_test, y_test = _subset(x_test, y_test, test_size, seed, "test_size")
    stats = (core_data.MNIST_MEAN, core_data.MNIST_STD) if standardize else (None, None)

    def convert(x, y):
        t = to_image_tensor(x, *stats)
        if flatten:
            t = t.reshape(len(t), -1)
        return TensorDataset(t, _labels_tensor(y, len(x)))

    return convert(x_train, y_train), convert(x_test, y_test)


def make_loader(
    dataset: torch.utils.data.Dataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    drop_last: bool = False,
    num_workers: int = 0,
) -> DataLoader:
    """``DataLoader`` reproducible: con ``shuffle=True``, el orden depende solo de ``seed``.

    Con datos ya en memoria como tensores, ``num_workers=0`` (por defecto) es lo más rápido:
    los procesos auxiliares solo compensan cuando cada ejemplo exige trabajo (leer de disco,
    decodificar, aumentar datos).
    """
    if not isinstance(dataset, torch.utils.data.Dataset):
        raise TypeError(
            f"«dataset» debe ser un torch.utils.data.Dataset; se recibió {describe(dataset)}."
        )
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    shuffle = check_bool(shuffle, "shuffle")
    seed = check_int(seed, "seed", minimum=0)
    drop_last = check_bool(drop_last, "drop_last")
    num_workers = check_int(num_workers, "num_workers", minimum=0)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        drop_last=drop_last,
        num_workers=num_workers,
    )
