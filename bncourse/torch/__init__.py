"""Capa de PyTorch de bncourse: datos como tensores, modelos con normalización a elegir, bucles de
entrenamiento que devuelven un :class:`bncourse.History` y los experimentos del curso.

Todos los nombres públicos de sus módulos se importan desde aquí (``from bncourse.torch import
...``); cada módulo se llama como lo que contiene:

- :mod:`~bncourse.torch.data`: MNIST y CIFAR-10 como tensores y ``DataLoader`` reproducibles.
- :mod:`~bncourse.torch.models`: :class:`RecipeCNN`, :class:`MLP` y :func:`make_norm`.
- :mod:`~bncourse.torch.training`: :func:`fit`, :func:`train_epoch`, :func:`evaluate`, el
  optimizador y la evolución de la tasa de aprendizaje.
- :mod:`~bncourse.torch.steps`: :func:`train_steps`, entrenamiento por pasos sobre tensores.
- :mod:`~bncourse.torch.probes`: :class:`UnitProbe`, :func:`gradient_landscape` y
  :func:`batch_statistics_noise`, las mediciones de los experimentos.
- :mod:`~bncourse.torch.ics`: :func:`gradient_ics`, el desplazamiento interno de covariables
  medido como Santurkar et al. (2018), por el cambio del gradiente de cada capa.
- :mod:`~bncourse.torch.placement`: :func:`keep_batchnorm_in`, BN solo en algunas capas.
- :mod:`~bncourse.torch.variants`: :class:`NoisyBatchNorm1d` y :class:`GhostBatchNorm1d`, que
  sustituyen las BN de un modelo ya construido.
- :mod:`~bncourse.torch.runs`: :class:`MNISTRun`, la función de los barridos sobre MNIST.
- :mod:`~bncourse.torch.bn_statistics`: encontrar, reestimar y congelar las estadísticas de
  población de BN.
- :mod:`~bncourse.torch.alternatives`: alternativas a BN construidas desde cero
  (:class:`BatchRenorm`, :class:`WSConv2d`, :class:`FilterResponseNorm`, :class:`SkipInitResNet`).
- :mod:`~bncourse.torch.folding`: plegar BN en la capa anterior para la inferencia.
- :mod:`~bncourse.torch.distributed`: procesos con ``torch.distributed`` (:func:`launch`), la BN
  entre réplicas (:class:`CrossReplicaBatchNorm`, :func:`convert_model`), el entrenamiento con
  DDP (:func:`ddp_train`) y su equivalente en un proceso (:func:`train_like_ddp`).
- :mod:`~bncourse.torch.recurrent`: :class:`RowRNN`, una red recurrente con la normalización
  dentro de la recurrencia.
- :mod:`~bncourse.torch.lstm`: :class:`RowLSTM` y :class:`NormLSTMCell`, una LSTM con BN por
  paso o LayerNorm, para secuencias de longitud variable con relleno, y :class:`RowGRU`, una GRU
  sin normalización para comparar.

(``bncourse.torch.experiments`` y ``bncourse.torch.bn_utils`` son los nombres antiguos; siguen
importando lo mismo.)

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
from .bn_statistics import BATCHNORM_TYPES, batchnorm_layers, freeze_batchnorm, recompute_bn_stats
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
from .distributed import (
    CrossReplicaBatchNorm,
    DistributedRun,
    PerDeviceBatchNorm,
    WorkerError,
    WorkerTimeout,
    call_all,
    convert_model,
    cross_replica_check,
    ddp_gradients,
    ddp_train,
    find_free_port,
    global_batch_order,
    launch,
    train_like_ddp,
    use_per_device_batchnorm,
)
from .folding import fold_batchnorm, fold_model, foldable_pairs
from .ics import gradient_ics, mlp_layers
from .lstm import (
    LSTM_NORMS,
    NormLSTMCell,
    RowGRU,
    RowLSTM,
    crop_blank_rows,
    halve_rows,
    padded_lengths,
)
from .models import MLP, NORMALIZATIONS, RecipeCNN, count_parameters, make_norm
from .placement import keep_batchnorm_in
from .probes import UnitProbe, activation_module, batch_statistics_noise, gradient_landscape
from .recurrent import RECURRENT_NORMS, RowRNN, StepwiseBatchNorm
from .runs import MNISTRun
from .steps import train_steps
from .training import (
    LR_SCHEDULES,
    default_device,
    evaluate,
    fit,
    make_optimizer,
    make_scheduler,
    train_epoch,
)
from .variants import GhostBatchNorm1d, NoisyBatchNorm1d, add_batchnorm_noise, use_ghost_batches

__all__ = [
    "CrossReplicaBatchNorm",
    "DistributedRun",
    "PerDeviceBatchNorm",
    "WorkerError",
    "WorkerTimeout",
    "call_all",
    "convert_model",
    "cross_replica_check",
    "ddp_gradients",
    "ddp_train",
    "find_free_port",
    "global_batch_order",
    "launch",
    "train_like_ddp",
    "use_per_device_batchnorm",
    "ALTERNATIVES",
    "BatchRenorm",
    "FilterResponseNorm",
    "SkipInitResNet",
    "WSConv2d",
    "alternative_cnn",
    "renorm_limits",
    "saved_tensor_bytes",
    "BATCHNORM_TYPES",
    "DEFAULT_CIFAR10_MEAN",
    "DEFAULT_CIFAR10_STD",
    "LR_SCHEDULES",
    "MLP",
    "NORMALIZATIONS",
    "RECURRENT_NORMS",
    "GhostBatchNorm1d",
    "ImageArrayDataset",
    "MNISTRun",
    "NoisyBatchNorm1d",
    "RecipeCNN",
    "RowRNN",
    "StepwiseBatchNorm",
    "LSTM_NORMS",
    "NormLSTMCell",
    "RowGRU",
    "RowLSTM",
    "crop_blank_rows",
    "halve_rows",
    "padded_lengths",
    "UnitProbe",
    "activation_module",
    "add_batchnorm_noise",
    "batch_statistics_noise",
    "batchnorm_layers",
    "cifar10_datasets",
    "cifar10_tensors",
    "count_parameters",
    "default_device",
    "evaluate",
    "fit",
    "fold_batchnorm",
    "fold_model",
    "foldable_pairs",
    "freeze_batchnorm",
    "keep_batchnorm_in",
    "gradient_ics",
    "gradient_landscape",
    "make_loader",
    "make_norm",
    "make_optimizer",
    "make_scheduler",
    "mlp_layers",
    "mnist_tensors",
    "recipe_transform",
    "recompute_bn_stats",
    "to_image_tensor",
    "train_epoch",
    "train_steps",
    "use_ghost_batches",
]
