"""Nombre antiguo de :mod:`bncourse.torch.bn_statistics` (módulo de compatibilidad).

Las estadísticas de población de BN (encontrar las capas, reestimarlas y congelarlas) viven en
:mod:`bncourse.torch.bn_statistics`; sus nombres públicos están también en :mod:`bncourse.torch`.
"""

from .bn_statistics import BATCHNORM_TYPES, batchnorm_layers, freeze_batchnorm, recompute_bn_stats

__all__ = ["BATCHNORM_TYPES", "batchnorm_layers", "freeze_batchnorm", "recompute_bn_stats"]
