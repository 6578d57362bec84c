"""Alternativas a la normalización por lotes, escritas desde cero en PyTorch.

- :class:`BatchRenorm`: renormalización por lotes (Ioffe, 2017), con las correcciones ``r`` y
  ``d`` recortadas y sin gradiente, medias móviles de μ y σ y la evolución de ``r_max`` y
  ``d_max`` que empieza en 1 y 0 (BN pura) y se relaja poco a poco (:func:`renorm_limits`).
- :class:`WSConv2d`: convolución con estandarización de pesos (Qiao et al., 2019): los pesos de
  cada canal de salida se reducen a media 0 y varianza unitaria antes de convolucionar.
- :class:`FilterResponseNorm`: normalización de la respuesta del filtro con TLU (Singh y
  Krishnan, 2020): divide por la media cuadrática de cada canal de cada ejemplo y sustituye a la
  ReLU por ``max(y, τ)``.
- :class:`SkipInitResNet`: red residual pequeña sin normalización en la que cada rama residual
  se multiplica por un escalar entrenable inicializado a 0 (*SkipInit*, De y Smith, 2020), o con
  BN en lugar de ese escalar.
- :func:`alternative_cnn`: la red convolucional del curso (:class:`~bncourse.torch.RecipeCNN`)
  con la normalización de sus tres bloques convolucionales a elegir entre :data:`ALTERNATIVES`.
- :func:`saved_tensor_bytes`: bytes de los tensores que la propagación hacia delante guarda para
  la retropropagación (una medida de memoria que no depende de la máquina).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_bool, check_choice, check_float, check_int, describe
from ..batchnorm.renorm import renorm_limits
from .models import RecipeCNN

__all__ = [
    "ALTERNATIVES",
    "BatchRenorm",
    "FilterResponseNorm",
    "SkipInitResNet",
    "WSConv2d",
    "alternative_cnn",
    "renorm_limits",
    "saved_tensor_bytes",
]

ALTERNATIVES = ("batch", "renorm", "layer", "group", "instance", "ws_group", "frn", "none")
"""Normalizaciones de :func:`alternative_cnn`: BN, renormalización por lotes, LayerNorm,
GroupNorm, InstanceNorm, estandarización de pesos con GroupNorm, FRN con TLU y ninguna."""




class BatchRenorm(nn.Module):
    """Renormalización por lotes (Ioffe, 2017) para entradas ``(N, C)`` o ``(N, C, H, W)``.

    En modo de entrenamiento, con la media ``μ_B`` y la desviación típica
    ``σ_B = sqrt(var_B + eps)`` del minilote (varianza sesgada) y las medias móviles ``μ`` y
    ``σ``::

        r = clip(σ_B / σ, 1 / r_max, r_max)         (sin gradiente)
        d = clip((μ_B − μ) / σ, −d_max, d_max)      (sin gradiente)
        y = γ · ((x − μ_B) / σ_B · r + d) + β

    y después ``μ ← μ + momentum · (μ_B − μ)`` y ``σ ← σ + momentum · (σ_B − σ)``. En modo de
    inferencia, ``y = γ · (x − μ) / σ + β``: la misma función que verá la red desplegada, que en
    entrenamiento solo se aproxima tanto como permiten ``r_max`` y ``d_max``. Con ``r = 1`` y
    ``d = 0`` la salida de entrenamiento es la de BN.

    ``r_max`` y ``d_max`` siguen :func:`renorm_limits` según el número de minilotes vistos en
    entrenamiento (el búfer ``num_batches_tracked``).

    Parámetros
    ----------
    num_features:
        Canales ``C``.
    momentum:
        Peso del minilote en las medias móviles (convenio de PyTorch: 0.1 equivale a
        ``renorm_momentum=0.9`` de Keras).
    eps:
        Se suma a la varianza antes de la raíz.
    r_max, d_max, warmup_steps, r_max_steps, d_max_steps:
        Límites finales y evolución (véase :func:`renorm_limits`).
    """

    running_mean: torch.Tensor
    running_std: torch.Tensor
    num_batches_tracked: torch.Tensor

    def __init__(
        self,
        num_features: int,
        *,
        momentum: float = 0.1,
        eps: float = 1e-5,
        r_max: float = 3.0,
        d_max: float = 5.0,
        warmup_steps: int = 0,
        r_max_steps: int = 0,
        d_max_steps: int = 0,
    ) -> None:
        super().__init__()
        self.num_features = check_int(num_features, "num_features", minimum=1)
        self.momentum = check_float(momentum, "momentum", minimum=0.0, maximum=1.0)
        self.eps = check_float(eps, "eps", minimum=0.0, strict_minimum=True)
        self.schedule: dict[str, Any] = {
            "r_max": r_max,
            "d_max": d_max,
            "warmup_steps": warmup_steps,
            "r_max_steps": r_max_steps,
            "d_max_steps": d_max_steps,
        }
        renorm_limits(0, **self.schedule)  # valida los argumentos de la evolución
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_std", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def limits(self) -> tuple[float, float]:
        """``(r_max, d_max)`` para el próximo minilote de entrenamiento."""
        return renorm_limits(int(self.num_batches_tracked), **self.schedule)

    def _shape(self, x: torch.Tensor) -> tuple[int, ...]:
        if x.ndim not in (2, 4) or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchRenorm espera entradas (N, {self.num_features}) o (N, {self.num_features}, "
                f"H, W); recibió la forma {tuple(x.shape)}."
            )
        return (1, -1) + (1,) * (x.ndim - 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = self._shape(x)
        gamma, beta = self.weight.view(shape), self.bias.view(shape)
        if not self.training:
            mean, std = self.running_mean.view(shape), self.running_std.view(shape)
            return gamma * (x - mean) / std + beta
        dims = [0] + list(range(2, x.ndim))
        if x.numel() // self.num_features < 2:
            raise ValueError(
                "BatchRenorm necesita más de un valor por canal en modo de entrenamiento; "
                f"recibió la forma {tuple(x.shape)}."
            )
        batch_mean = x.mean(dim=dims, keepdim=True)
        batch_std = torch.sqrt(x.var(dim=dims, unbiased=False, keepdim=True) + self.eps)
        r_max, d_max = self.limits()
        with torch.no_grad():
            running_mean = self.running_mean.view(shape)
            running_std = self.running_std.view(shape)
            r = (batch_std / running_std).clamp(1.0 / r_max, r_max)
            d = ((batch_mean - running_mean) / running_std).clamp(-d_max, d_max)
            self.running_mean += self.momentum * (batch_mean.flatten() - self.running_mean)
            self.running_std += self.momentum * (batch_std.flatten() - self.running_std)
            self.num_batches_tracked += 1
        x_hat = (x - batch_mean) / batch_std * r + d
        return gamma * x_hat + beta

    def extra_repr(self) -> str:
        return f"{self.num_features}, momentum={self.momentum}, eps={self.eps}, {self.schedule}"


class WSConv2d(nn.Conv2d):
    """``Conv2d`` con estandarización de pesos (Qiao et al., 2019).

    Antes de cada convolución, los pesos ``W`` de cada canal de salida (``C_in · k_h · k_w``
    valores) se sustituyen por ``(W − media) / sqrt(varianza + eps)`` (varianza sesgada). Los
    gradientes atraviesan la estandarización. Se usa seguida de GroupNorm: la estandarización
    actúa sobre los pesos y GroupNorm sobre las activaciones, y ninguna mira el minilote.
    """

    def __init__(self, *args: Any, eps: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.eps = check_float(eps, "eps", minimum=0.0, strict_minimum=True)

    def standardized_weight(self) -> torch.Tensor:
        """Los pesos estandarizados que usa la convolución."""
        w = self.weight
        mean = w.mean(dim=(1, 2, 3), keepdim=True)
        var = w.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
        return (w - mean) / torch.sqrt(var + self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.standardized_weight(), self.bias)


class FilterResponseNorm(nn.Module):
    """Normalización de la respuesta del filtro con TLU (Singh y Krishnan, 2020).

    Para cada ejemplo y canal, con ``ν² = media(x²)`` sobre las posiciones ``H × W``::

        y = γ · x / sqrt(ν² + eps) + β,      z = max(y, τ)

    No resta ninguna media (por eso necesita el umbral entrenable ``τ`` de la TLU, que sustituye
    a la ReLU) y no mira el resto del minilote. ``tlu=False`` devuelve ``y``.
    """

    def __init__(self, num_features: int, *, eps: float = 1e-6, tlu: bool = True) -> None:
        super().__init__()
        self.num_features = check_int(num_features, "num_features", minimum=1)
        self.eps = check_float(eps, "eps", minimum=0.0, strict_minimum=True)
        self.tlu = check_bool(tlu, "tlu")
        self.weight = nn.Parameter(torch.ones(1, num_features, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, num_features, 1, 1))
        self.tau = nn.Parameter(torch.zeros(1, num_features, 1, 1)) if self.tlu else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(
                f"FilterResponseNorm espera entradas (N, {self.num_features}, H, W); recibió la "
                f"forma {tuple(x.shape)}."
            )
        nu2 = x.pow(2).mean(dim=(2, 3), keepdim=True)
        y = self.weight * x * torch.rsqrt(nu2 + self.eps) + self.bias
        return torch.maximum(y, self.tau) if self.tau is not None else y

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, tlu={self.tlu}"


def _conv_norm(kind: str, channels: int, groups: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "renorm":
        raise AssertionError  # se construye aparte, con su evolución
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind in ("group", "ws_group"):
        return nn.GroupNorm(groups, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "frn":
        return FilterResponseNorm(channels)
    return nn.Identity()


def alternative_cnn(
    norm: str,
    *,
    groups: int = 8,
    renorm: dict | None = None,
    in_channels: int = 3,
    image_size: int = 32,
    num_classes: int = 10,
) -> RecipeCNN:
    """La red del curso (:class:`~bncourse.torch.RecipeCNN`) con la normalización ``norm``.

    ``norm`` es una de :data:`ALTERNATIVES`. La normalización va tras cada una de las tres
    convoluciones; la capa densa oculta no se normaliza en ninguna variante (InstanceNorm y FRN
    no tienen sentido con un solo valor por canal). Con ``"ws_group"`` las convoluciones son
    :class:`WSConv2d` seguidas de GroupNorm; con ``"frn"``, la TLU hace de activación y la ReLU
    del bloque desaparece. ``renorm`` pasa a cada :class:`BatchRenorm` sus argumentos
    (``momentum``, ``r_max``, ``warmup_steps``...). Las convoluciones no tienen sesgo cuando la
    normalización suma el suyo (todas salvo ``"none"``).
    """
    check_choice(norm, "norm", ALTERNATIVES)
    groups = check_int(groups, "groups", minimum=1)
    if renorm is not None and not isinstance(renorm, dict):
        raise TypeError(f"«renorm» debe ser un diccionario o None; se recibió {describe(renorm)}.")
    if renorm is not None and norm != "renorm":
        raise ValueError("«renorm» solo tiene sentido con norm='renorm'.")
    model = RecipeCNN(
        "none",
        in_channels=in_channels,
        image_size=image_size,
        num_classes=num_classes,
        bias=norm == "none",
    )
    model.classifier[1] = nn.Linear(model.flat_features, 64)  # la capa densa conserva su sesgo
    model.norm = norm
    features = model.features
    for i in range(0, len(features), 4):
        conv = features[i]
        assert isinstance(conv, nn.Conv2d)
        channels = conv.out_channels
        if norm in ("group", "ws_group") and channels % groups:
            raise ValueError(
                f"GroupNorm necesita que «groups» ({groups}) divida a los canales ({channels})."
            )
        if norm == "ws_group":
            features[i] = WSConv2d(
                conv.in_channels, channels, kernel_size=conv.kernel_size, bias=False
            )
        if norm == "renorm":
            features[i + 1] = BatchRenorm(channels, **(renorm or {}))
        else:
            features[i + 1] = _conv_norm(norm, channels, groups)
        if norm == "frn":
            features[i + 3] = nn.Identity()  # la TLU de FRN es la activación
    return model


class _ResidualBlock(nn.Module):
    """``x + α · conv(relu(norm(conv(relu(norm(x))))))``, con preactivación."""

    def __init__(self, channels: int, norm: str, skipinit: bool) -> None:
        super().__init__()
        use_bn = norm == "batch"
        self.norm1 = nn.BatchNorm2d(channels) if use_bn else nn.Identity()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=not use_bn)
        self.norm2 = nn.BatchNorm2d(channels) if use_bn else nn.Identity()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=True)
        self.alpha = nn.Parameter(torch.zeros(())) if skipinit else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.conv1(F.relu(self.norm1(x)))
        branch = self.conv2(F.relu(self.norm2(branch)))
        return x + (self.alpha * branch if self.alpha is not None else branch)


class SkipInitResNet(nn.Module):
    """Red residual pequeña para CIFAR-10, sin normalización con *SkipInit* o con BN.

    Tres etapas de 16, 32 y 64 canales (32 × 32, 16 × 16 y 8 × 8 posiciones de entrada). Cada
    una es una convolución 3 × 3 que cambia el número de canales, *max pooling* 2 × 2 y un bloque
    residual con dos convoluciones 3 × 3 (preactivación); al final, promedio global y una capa
    lineal: nueve convoluciones y una capa densa, tres más que :class:`RecipeCNN`.

    Parámetros
    ----------
    norm:
        ``"none"`` (sin normalización) o ``"batch"`` (BN antes de cada ReLU).
    skipinit:
        Multiplica cada rama residual por un escalar entrenable inicializado a 0 (De y Smith,
        2020): al empezar, cada bloque es la identidad. Por defecto, solo sin normalización.
    """

    def __init__(
        self,
        norm: str = "none",
        *,
        skipinit: bool | None = None,
        in_channels: int = 3,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        self.norm = check_choice(norm, "norm", ("none", "batch"))
        skipinit = norm == "none" if skipinit is None else check_bool(skipinit, "skipinit")
        in_channels = check_int(in_channels, "in_channels", minimum=1)
        num_classes = check_int(num_classes, "num_classes", minimum=2)
        self.in_channels = in_channels
        layers: list[nn.Module] = []
        channels = in_channels
        for width in (16, 32, 64):
            layers += [
                nn.Conv2d(channels, width, 3, padding=1),
                nn.MaxPool2d(2, 2),
                _ResidualBlock(width, norm, skipinit),
            ]
            channels = width
        self.features = nn.Sequential(*layers)
        self.head_norm = nn.BatchNorm2d(channels) if norm == "batch" else nn.Identity()
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"SkipInitResNet espera imágenes (N, {self.in_channels}, H, W); recibió la "
                f"forma {tuple(x.shape)}."
            )
        x = F.relu(self.head_norm(self.features(x)))
        return self.classifier(x.mean(dim=(2, 3)))


def saved_tensor_bytes(fn: Callable[[], torch.Tensor]) -> int:
    """Bytes de los tensores que ``fn()`` guarda para la retropropagación.

    Ejecuta ``fn`` (por ejemplo, ``lambda: loss_fn(model(x), y)``) dentro de
    ``torch.autograd.graph.saved_tensors_hooks`` y suma el tamaño de cada tensor distinto que
    el grafo guarda (el mismo tensor guardado dos veces cuenta una vez). Es la memoria de activaciones
    que un paso de entrenamiento mantiene viva hasta ``backward()``; no depende de la máquina ni
    de su carga.
    """
    if not callable(fn):
        raise TypeError(f"«fn» debe ser invocable; se recibió {describe(fn)}.")
    seen: dict[tuple, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = (t.data_ptr(), t.dtype, tuple(t.shape), t.stride())
        seen[key] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"«fn» debe devolver un tensor; devolvió {describe(out)}.")
    return int(sum(seen.values()))
