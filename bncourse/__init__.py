"""bncourse: paquete complementario del curso «Normalización por lotes (Batch Normalization)».

Capas, cada una importa solo las anteriores:

1. Núcleo sin marcos de trabajo (este paquete): datos (:mod:`bncourse.data`), semillas
   (:mod:`bncourse.reproducibility`), historiales (:mod:`bncourse.history`) y figuras
   (:mod:`bncourse.plotting`). Importar ``bncourse`` no importa PyTorch ni TensorFlow.
2. :mod:`bncourse.torch`: modelos, entrenamiento y experimentos con PyTorch.
3. :mod:`bncourse.keras`: lo mismo con Keras 3 sobre TensorFlow.
"""

from .data import (
    CIFAR10_CLASSES,
    CIFAR10_MEAN,
    CIFAR10_STD,
    MNIST_CLASSES,
    MNIST_MEAN,
    MNIST_STD,
    DataError,
    default_data_dir,
    load_cifar10,
    load_mnist,
    stratified_indices,
    stratified_subset,
)
from .history import History
from .reproducibility import chapter_seed, derive_seed, record_figure, seed_everything

__version__ = "0.1.0"

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "MNIST_CLASSES",
    "MNIST_MEAN",
    "MNIST_STD",
    "DataError",
    "History",
    "default_data_dir",
    "load_cifar10",
    "load_mnist",
    "chapter_seed",
    "derive_seed",
    "record_figure",
    "seed_everything",
    "stratified_indices",
    "stratified_subset",
]
