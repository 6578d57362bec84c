"""Capa de PyTorch de bncourse: datos como tensores, modelos con normalización a elegir y
bucles de entrenamiento que devuelven un :class:`bncourse.History`.

Importar este subpaquete importa ``torch`` (y ``torchvision`` solo cuando se usan sus
transformaciones). Si en el mismo proceso se va a usar también TensorFlow, importe antes
``torch``: con estas versiones, cargar ``triton`` después de TensorFlow bloquea el proceso.
"""

from .alternatives import (
    ALTERNATIVES,
    BatchRenorm,
    FilterResponseNorm,
    SkipInitResNet,
    WSConv2d,
    alternative_cnn,
    renorm_limits,
    saved_tensor_bytes,
)
from .data import (
    DEFAULT_CIFAR10_MEAN,
    DEFAULT_CIFAR10_STD,
    ImageArrayDataset,
    cifar10_datasets,
    cifar10_tensors,
    make_loader,
    mnist_tensors,
    recipe_transform,
    to_image_tensor,
)
from .models import MLP, NORMALIZATIONS, RecipeCNN, count_parameters, make_norm
from .training import (
    LR_SCHEDULES,
    default_device,
    evaluate,
    fit,
    make_optimizer,
    make_scheduler,
    train_epoch,
)

__all__ = [
    "ALTERNATIVES",
    "BatchRenorm",
    "FilterResponseNorm",
    "SkipInitResNet",
    "WSConv2d",
    "alternative_cnn",
    "renorm_limits",
    "saved_tensor_bytes",
    "DEFAULT_CIFAR10_MEAN",
    "DEFAULT_CIFAR10_STD",
    "LR_SCHEDULES",
    "MLP",
    "NORMALIZATIONS",
    "ImageArrayDataset",
    "RecipeCNN",
    "cifar10_datasets",
    "cifar10_tensors",
    "count_parameters",
    "default_device",
    "evaluate",
    "fit",
    "make_loader",
    "make_norm",
    "make_optimizer",
    "make_scheduler",
    "mnist_tensors",
    "recipe_transform",
    "to_image_tensor",
    "train_epoch",
]
