"""Datos reales de MNIST y CIFAR-10 como tensores de PyTorch y ``DataLoader`` reproducibles.

La receta clásica aplica ``transforms.ToTensor()`` y ``transforms.Normalize(...)`` imagen a
imagen dentro del ``DataLoader``. Con conjuntos que caben en memoria es mucho más rápido hacer
esa misma conversión una sola vez sobre todo el arreglo: :func:`to_image_tensor` da exactamente
el mismo resultado (las pruebas lo comparan con ``torchvision``) y el bucle de entrenamiento solo
tiene que recorrer tensores ya preparados.

Para reproducir la receta tal cual (por ejemplo, en la prueba de rendimiento),
:func:`cifar10_datasets` ofrece el camino clásico: un ``Dataset`` que convierte cada imagen en
una imagen PIL y le aplica las transformaciones de ``torchvision`` al pedirla, como hace
``torchvision.datasets.CIFAR10``, pero leyendo los mismos datos que el resto del curso.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from .. import data as core_data
from .._checks import check_array, check_bool, check_int, check_labels, describe

__all__ = [
    "DEFAULT_CIFAR10_MEAN",
    "DEFAULT_CIFAR10_STD",
    "ImageArrayDataset",
    "cifar10_datasets",
    "cifar10_tensors",
    "make_loader",
    "mnist_tensors",
    "recipe_transform",
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


def cifar10_tensors(
    train_size: int | None = None,
    test_size: int | None = None,
    *,
    mean: Sequence[float] = DEFAULT_CIFAR10_MEAN,
    std: Sequence[float] = DEFAULT_CIFAR10_STD,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
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
    (x_train, y_train), (x_test, y_test) = core_data.load_subsets(
        core_data.load_cifar10, train_size, test_size, seed=seed, data_dir=data_dir
    )
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
    data_dir: str | os.PathLike[str] | None = None,
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
    (x_train, y_train), (x_test, y_test) = core_data.load_subsets(
        core_data.load_mnist, train_size, test_size, seed=seed, data_dir=data_dir
    )
    stats = (core_data.MNIST_MEAN, core_data.MNIST_STD) if standardize else (None, None)

    def convert(x: np.ndarray, y: np.ndarray) -> TensorDataset:
        t = to_image_tensor(x, *stats)
        if flatten:
            t = t.reshape(len(t), -1)
        return TensorDataset(t, _labels_tensor(y, len(x)))

    return convert(x_train, y_train), convert(x_test, y_test)


def recipe_transform(
    mean: Sequence[float] = DEFAULT_CIFAR10_MEAN, std: Sequence[float] = DEFAULT_CIFAR10_STD
) -> Callable[[Any], torch.Tensor]:
    """La transformación de la receta clásica: ``Compose([ToTensor(), Normalize(mean, std)])``.

    Importa ``torchvision`` al llamarla. Se aplica a una imagen PIL (o a un arreglo
    ``(H, W, C)`` de tipo ``uint8``) y devuelve un tensor ``(C, H, W)``.
    """
    import torchvision.transforms as transforms

    channels = len(mean) if isinstance(mean, Sequence) and not isinstance(mean, str) else 0
    if channels not in (1, 3):
        raise ValueError(
            f"«mean» debe ser una secuencia de 1 o 3 números (uno por canal); se recibió "
            f"{describe(mean)}."
        )
    m = _check_stats(mean, "mean", channels)
    s = _check_stats(std, "std", channels)
    return transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize(tuple(m.tolist()), tuple(s.tolist()))]
    )


class ImageArrayDataset(torch.utils.data.Dataset):
    """Imágenes ``uint8`` en memoria que se transforman una a una al pedirlas, como en torchvision.

    Cada elemento es ``(transform(imagen PIL), etiqueta)``, igual que en
    ``torchvision.datasets.CIFAR10``: la imagen se convierte con ``PIL.Image.fromarray`` y se le
    aplica ``transform`` en cada acceso (en cada época y en el proceso que la pida, también en los
    procesos auxiliares del ``DataLoader``).

    Parámetros
    ----------
    images:
        Arreglo ``uint8`` ``(N, H, W)`` o ``(N, H, W, C)`` con 1 o 3 canales.
    labels:
        Etiquetas enteras ``(N,)`` entre 0 y ``num_classes - 1``.
    transform:
        Función que recibe la imagen PIL; por defecto, :func:`recipe_transform` con la
        normalización de la receta (solo para imágenes en color).
    num_classes:
        Número de clases, para validar las etiquetas.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        transform: Callable[[Any], Any] | None = None,
        *,
        num_classes: int = 10,
    ) -> None:
        images = check_array(images, "images", ndim=(3, 4), dtype=np.uint8)
        if images.ndim == 4 and images.shape[-1] not in (1, 3):
            raise ValueError(
                f"«images» debe tener 1 o 3 canales al final (N, H, W, C); tiene forma {images.shape}."
            )
        num_classes = check_int(num_classes, "num_classes", minimum=2)
        labels = check_labels(labels, "labels", num_classes)
        if len(labels) != len(images):
            raise ValueError(
                f"Debe haber una etiqueta por imagen: hay {len(images)} imágenes y {len(labels)} "
                "etiquetas."
            )
        if transform is None:
            transform = recipe_transform() if images.ndim == 4 and images.shape[-1] == 3 else None
        if transform is not None and not callable(transform):
            raise TypeError(
                f"«transform» debe ser una función (p. ej. transforms.Compose); se recibió "
                f"{describe(transform)}."
            )
        if images.ndim == 4 and images.shape[-1] == 1:
            images = images[..., 0]
        self.images = images
        self.labels = labels.astype(np.int64)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        from PIL import Image

        image: Any = Image.fromarray(self.images[index])
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])


def cifar10_datasets(
    train_size: int | None = None,
    test_size: int | None = None,
    *,
    transform: Callable[[Any], Any] | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[ImageArrayDataset, ImageArrayDataset]:
    """CIFAR-10 real como en la receta clásica: transformaciones de torchvision imagen a imagen.

    Devuelve dos :class:`ImageArrayDataset` (entrenamiento, prueba) con los mismos datos y
    subconjuntos que :func:`cifar10_tensors` y, por defecto, la transformación de la receta
    (:func:`recipe_transform`): cada elemento es idéntico al de :func:`cifar10_tensors` con la
    normalización por defecto, pero se calcula cada vez que se pide. Es el camino lento que
    reproduce la receta; para entrenar, use :func:`cifar10_tensors`.
    """
    (x_train, y_train), (x_test, y_test) = core_data.load_subsets(
        core_data.load_cifar10, train_size, test_size, seed=seed, data_dir=data_dir
    )
    transform = recipe_transform() if transform is None else transform
    return (
        ImageArrayDataset(x_train, y_train, transform),
        ImageArrayDataset(x_test, y_test, transform),
    )


def make_loader(
    dataset: torch.utils.data.Dataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    drop_last: bool = False,
    num_workers: int = 0,
    pin_memory: bool | None = None,
) -> DataLoader:
    """``DataLoader`` reproducible: con ``shuffle=True``, el orden depende solo de ``seed``.

    Con datos ya en memoria como tensores, ``num_workers=0`` (por defecto) es lo más rápido:
    los procesos auxiliares solo compensan cuando cada ejemplo exige trabajo (leer de disco,
    decodificar, aumentar datos). ``pin_memory`` (por defecto, solo si hay GPU) deja los
    minilotes en memoria fija para copiarlos a la GPU sin bloquear.
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
    if pin_memory is None:
        pin_memory = torch.cuda.is_available()
    pin_memory = check_bool(pin_memory, "pin_memory")
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        drop_last=drop_last,
        num_workers=num_workers,
        pin_memory=pin_memory,
    )
