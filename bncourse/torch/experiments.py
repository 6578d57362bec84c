"""Nombres de siempre de los experimentos del capítulo de ventajas (módulo de compatibilidad).

El código vive ahora en módulos con el nombre de lo que contienen, y todos sus nombres públicos
están también en :mod:`bncourse.torch`:

- :mod:`bncourse.torch.steps`: :func:`train_steps`, el entrenamiento por pasos;
- :mod:`bncourse.torch.probes`: :class:`UnitProbe`, :func:`activation_module`,
  :func:`gradient_landscape` y :func:`batch_statistics_noise`;
- :mod:`bncourse.torch.variants`: :class:`NoisyBatchNorm1d`, :func:`add_batchnorm_noise`,
  :class:`GhostBatchNorm1d` y :func:`use_ghost_batches`;
- :mod:`bncourse.torch.runs`: :class:`MNISTRun`.

``evaluate_tensors`` es :func:`bncourse.torch.evaluate`, que acepta tensores en memoria.
"""

from .probes import UnitProbe, activation_module, batch_statistics_noise, gradient_landscape
from .runs import MNISTRun
from .steps import train_steps
from .training import evaluate
from .variants import GhostBatchNorm1d, NoisyBatchNorm1d, add_batchnorm_noise, use_ghost_batches

evaluate_tensors = evaluate

__all__ = [
    "GhostBatchNorm1d",
    "MNISTRun",
    "NoisyBatchNorm1d",
    "UnitProbe",
    "activation_module",
    "add_batchnorm_noise",
    "batch_statistics_noise",
    "evaluate_tensors",
    "gradient_landscape",
    "train_steps",
    "use_ghost_batches",
]
