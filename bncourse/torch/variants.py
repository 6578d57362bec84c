"""Variantes de BN que se colocan en un modelo ya construido, en lugar de sus ``nn.BatchNorm1d``.

- :class:`NoisyBatchNorm1d` y :func:`add_batchnorm_noise`: BN seguida de un ruido cuya media y
  varianza cambian en cada paso, el experimento de «BN ruidosa» de Santurkar et al. (2018).
- :class:`GhostBatchNorm1d` y :func:`use_ghost_batches`: BN con las estadísticas de «minilotes
  fantasma» más pequeños que el minilote del gradiente (Hoffer et al., 2017).

Las dos envuelven la capa original (sus parámetros y búferes se usan tal cual), así que la
sustitución no cambia el número de parámetros del modelo.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .._checks import check_float, check_int, describe
from .training import check_model

__all__ = [
    "GhostBatchNorm1d",
    "NoisyBatchNorm1d",
    "add_batchnorm_noise",
    "use_ghost_batches",
]


class NoisyBatchNorm1d(nn.Module):
    """BN seguida de ruido con media no nula y varianza no unitaria que cambia en cada paso.

    Reproduce la idea del experimento de Santurkar et al. (2018): en modo de entrenamiento, en
    cada pasada se sortean, para cada unidad $j$, una media $\\mu_j \\sim U(-a, a)$ y una
    escala $s_j \\sim U(1, b)$, y cada activación normalizada $\\hat y_{ij}$ de la salida de BN
    se transforma en $s_j \\hat y_{ij} + \\mu_j + \\sigma\\,\\varepsilon_{ij}$, con
    $\\varepsilon_{ij}$ normal estándar independiente para cada ejemplo. Así, la distribución
    que recibe la capa siguiente tiene media y varianza distintas en cada paso: **más**
    desplazamiento interno de covariables que sin BN. En modo de inferencia no extrae nada al azar y
    aplica la transformación esperada, $E[s_j]\\,\\hat y_{ij} + E[\\mu_j] = \\frac{1 + b}{2}\\,
    \\hat y_{ij}$, para que la capa siguiente reciba en inferencia, en promedio, lo mismo que
    al entrenar (como el *dropout*, que compensa en un modo lo que apaga en el otro).

    Parámetros
    ----------
    bn:
        La capa ``nn.BatchNorm1d`` que se envuelve, o el número de características para crear
        una nueva.
    mean_range:
        $a$, amplitud de las medias sorteadas.
    scale_max:
        $b \\ge 1$, escala máxima sorteada.
    noise_std:
        $\\sigma$, desviación típica del ruido independiente por ejemplo.
    """

    def __init__(
        self,
        bn: nn.BatchNorm1d | int,
        *,
        mean_range: float = 1.0,
        scale_max: float = 2.0,
        noise_std: float = 0.5,
    ) -> None:
        super().__init__()
        if isinstance(bn, bool) or not isinstance(bn, nn.BatchNorm1d | int):
            raise TypeError(
                f"«bn» debe ser un nn.BatchNorm1d o un número de características; se recibió "
                f"{describe(bn)}."
            )
        self.bn = nn.BatchNorm1d(check_int(bn, "bn", minimum=1)) if isinstance(bn, int) else bn
        self.mean_range = check_float(mean_range, "mean_range", minimum=0.0)
        self.scale_max = check_float(scale_max, "scale_max", minimum=1.0)
        self.noise_std = check_float(noise_std, "noise_std", minimum=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn(x)
        if not self.training:
            return out * self.expected_scale  # E[μ_j] = 0 y E[ε_ij] = 0
        features = out.shape[1]
        mean = (torch.rand(features) * 2 - 1) * self.mean_range
        scale = 1 + torch.rand(features) * (self.scale_max - 1)
        noise = self.noise_std * torch.randn_like(out) if self.noise_std > 0 else 0.0
        return out * scale.to(out) + mean.to(out) + noise

    @property
    def expected_scale(self) -> float:
        """$E[s_j] = (1 + b)/2$, la escala que se aplica en modo de inferencia."""
        return (1.0 + self.scale_max) / 2

    def extra_repr(self) -> str:
        return (
            f"mean_range={self.mean_range}, scale_max={self.scale_max}, noise_std={self.noise_std}"
        )


def add_batchnorm_noise(model: nn.Module, **noise: float) -> nn.Module:
    """Sustituye, en el sitio, cada ``nn.BatchNorm1d`` de ``model`` por una :class:`NoisyBatchNorm1d`.

    Las capas de BN originales (con sus parámetros) quedan dentro de las nuevas. Los argumentos
    con nombre (``mean_range``, ``scale_max``, ``noise_std``) pasan a cada capa. Devuelve
    ``model``; lanza ``ValueError`` si no contiene ninguna ``BatchNorm1d``.
    """
    model = check_model(model)
    unknown = sorted(set(noise) - {"mean_range", "scale_max", "noise_std"})
    if unknown:
        raise TypeError(
            f"Parámetros de ruido desconocidos: {unknown}; los válidos son mean_range, scale_max "
            "y noise_std."
        )
    NoisyBatchNorm1d(1, **noise)  # valida los valores antes de tocar el modelo
    return _replace_batchnorm(model, lambda bn: NoisyBatchNorm1d(bn, **noise))


class GhostBatchNorm1d(nn.Module):
    """BN con estadísticas de «minilotes fantasma» de ``group_size`` ejemplos (Hoffer et al., 2017).

    En modo de entrenamiento divide cada minilote en grupos consecutivos de ``group_size``
    ejemplos y normaliza cada grupo con su propia media y varianza (sesgada), como si fuese un
    minilote aparte; las estadísticas de población se actualizan con la media de las de los
    grupos. Permite cambiar el ruido de las estadísticas de BN **sin** cambiar el minilote del
    gradiente. En modo de inferencia es la BN envuelta, sin cambios.

    Parámetros
    ----------
    bn:
        La ``nn.BatchNorm1d`` que se envuelve (sus parámetros, búferes y ``momentum`` se usan
        tal cual; con ``momentum=None``, la media acumulada de todos los minilotes, como en
        PyTorch).
    group_size:
        Ejemplos por grupo; debe dividir al tamaño de cada minilote de entrenamiento.
    """

    def __init__(self, bn: nn.BatchNorm1d, group_size: int) -> None:
        super().__init__()
        if not isinstance(bn, nn.BatchNorm1d):
            raise TypeError(f"«bn» debe ser un nn.BatchNorm1d; se recibió {describe(bn)}.")
        self.bn = bn
        self.group_size = check_int(group_size, "group_size", minimum=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if not self.training or self.group_size == n:
            return self.bn(x)
        g = self.group_size
        if x.ndim != 2 or n % g:
            raise ValueError(
                f"GhostBatchNorm1d necesita entradas (N, D) con N múltiplo de {g}; recibió la "
                f"forma {tuple(x.shape)}."
            )
        bn = self.bn
        d = x.shape[1]
        # (N, D) -> (g, N/g · D): cada columna es un par (grupo, característica), y
        # F.batch_norm normaliza cada columna sobre sus g filas (un grupo).
        columns = x.reshape(n // g, g, d).transpose(0, 1).reshape(g, -1)
        normalized = nn.functional.batch_norm(columns, None, None, training=True, eps=bn.eps)
        out = normalized.reshape(g, n // g, d).transpose(0, 1).reshape(n, d)
        if bn.affine:
            out = out * bn.weight + bn.bias
        if (
            bn.track_running_stats
            and bn.running_mean is not None
            and bn.running_var is not None
            and bn.num_batches_tracked is not None
        ):
            with torch.no_grad():
                var, mean = torch.var_mean(columns, dim=0, unbiased=True)
                bn.num_batches_tracked.add_(1)
                # Como en PyTorch: momentum=None es la media acumulada (1/n en el paso n).
                m = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
                bn.running_mean.mul_(1 - m).add_(m * mean.reshape(n // g, d).mean(dim=0))
                bn.running_var.mul_(1 - m).add_(m * var.reshape(n // g, d).mean(dim=0))
        return out

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"


def use_ghost_batches(model: nn.Module, group_size: int) -> nn.Module:
    """Sustituye, en el sitio, cada ``nn.BatchNorm1d`` de ``model`` por una :class:`GhostBatchNorm1d`.

    Devuelve ``model``; lanza ``ValueError`` si no contiene ninguna ``BatchNorm1d``.
    """
    model = check_model(model)
    group_size = check_int(group_size, "group_size", minimum=2)
    return _replace_batchnorm(model, lambda bn: GhostBatchNorm1d(bn, group_size))


def _replace_batchnorm(
    model: nn.Module, factory: Callable[[nn.BatchNorm1d], nn.Module]
) -> nn.Module:
    replaced = 0
    for module in list(model.modules()):
        if isinstance(module, NoisyBatchNorm1d | GhostBatchNorm1d):
            continue
        for name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm1d):
                setattr(module, name, factory(child))
                replaced += 1
    if replaced == 0:
        raise ValueError("«model» no contiene ninguna capa nn.BatchNorm1d que sustituir.")
    return model
