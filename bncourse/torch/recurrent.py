"""Red recurrente sencilla con la normalización dentro de la recurrencia.

:class:`RowRNN` lee una imagen fila a fila (MNIST: 28 pasos de 28 píxeles) con la celda

.. math:: a_t = W_x x_t + W_h h_{t-1}, \\qquad h_t = \\tanh(\\mathrm{N}_t(a_t)),

y clasifica con una capa densa sobre el último estado :math:`h_T`. La normalización
:math:`\\mathrm{N}_t` se aplica a la preactivación del estado oculto, como en la normalización
por capas de Ba et al. (2016); ``norm`` elige entre:

- ``"none"``: sin normalizar (con sesgo en :math:`W_x`);
- ``"batch_shared"``: **una** ``nn.BatchNorm1d`` reutilizada en todos los pasos. En
  entrenamiento cada paso se normaliza con la media y la varianza del minilote *en ese paso*,
  pero las estadísticas de población son una sola media móvil que mezcla todos los pasos (y
  pesa más los últimos de cada secuencia);
- ``"batch_per_step"``: estadísticas propias de cada paso (:class:`StepwiseBatchNorm`, como en
  Cooijmans et al., 2017), con :math:`\\gamma` y :math:`\\beta` compartidos; en inferencia, los
  pasos posteriores al último visto en entrenamiento reutilizan las estadísticas de ese último
  paso;
- ``"layer"``: ``nn.LayerNorm``, que normaliza cada ejemplo con sus propias estadísticas y
  funciona igual en entrenamiento e inferencia, con cualquier tamaño de minilote y cualquier
  longitud de secuencia.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_choice, check_int, describe

__all__ = ["RECURRENT_NORMS", "RowRNN", "StepwiseBatchNorm"]

RECURRENT_NORMS = ("none", "batch_shared", "batch_per_step", "layer")
"""Normalizaciones disponibles en :class:`RowRNN`."""


class StepwiseBatchNorm(nn.Module):
    """BN para secuencias con estadísticas propias de cada paso de tiempo.

    Guarda una ``nn.BatchNorm1d(num_features, affine=False)`` por paso (sus búferes
    ``running_mean`` y ``running_var``) y un único par :math:`\\gamma`, :math:`\\beta`
    (``weight`` y ``bias``) compartido por todos los pasos.

    Parámetros
    ----------
    num_features:
        Número de características normalizadas.
    max_steps:
        Pasos de tiempo con estadísticas propias (la longitud de las secuencias de
        entrenamiento).
    beyond:
        Qué hacer en inferencia con un paso ``t >= max_steps``, del que no hay estadísticas:
        ``"last"`` (por defecto) reutiliza las del último paso, como proponen Cooijmans et al.
        (2017); ``"error"`` lanza un ``ValueError``. En entrenamiento, un paso así es siempre
        un error.
    """

    def __init__(
        self,
        num_features: int,
        max_steps: int,
        *,
        eps: float = 1e-5,
        momentum: float = 0.1,
        beyond: str = "last",
    ) -> None:
        super().__init__()
        self.num_features = check_int(num_features, "num_features", minimum=1)
        self.max_steps = check_int(max_steps, "max_steps", minimum=1)
        self.beyond = check_choice(beyond, "beyond", ("last", "error"))
        self.steps = nn.ModuleList(
            nn.BatchNorm1d(num_features, eps=eps, momentum=momentum, affine=False)
            for _ in range(max_steps)
        )
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor, step: int) -> torch.Tensor:
        step = check_int(step, "step", minimum=0)
        if step >= self.max_steps:
            if self.training:
                raise ValueError(
                    f"Paso {step} en entrenamiento, pero solo hay estadísticas para "
                    f"{self.max_steps} pasos (0 a {self.max_steps - 1}): aumente «max_steps»."
                )
            if self.beyond == "error":
                raise ValueError(
                    f"No hay estadísticas de población para el paso {step}: el entrenamiento "
                    f"solo vio {self.max_steps} pasos. Use beyond='last' para reutilizar las "
                    "del último paso."
                )
            step = self.max_steps - 1
        return self.steps[step](x) * self.weight + self.bias

    def extra_repr(self) -> str:
        return f"{self.num_features}, max_steps={self.max_steps}, beyond={self.beyond!r}"


class RowRNN(nn.Module):
    """Clasificador recurrente que lee cada imagen fila a fila.

    Parámetros
    ----------
    input_size:
        Valores por paso (28 píxeles por fila en MNIST).
    hidden_size:
        Tamaño del estado oculto.
    num_classes:
        Número de clases.
    norm:
        Normalización de la preactivación del estado (véase :data:`RECURRENT_NORMS`).
    max_steps:
        Longitud de las secuencias de entrenamiento; solo la usa ``"batch_per_step"``.

    La entrada es un tensor ``(N, T, input_size)`` o ``(N, 1, T, input_size)`` (imágenes con
    un canal, como las de :func:`~bncourse.torch.mnist_tensors` con ``flatten=False``). Los
    pesos recurrentes se inicializan como una matriz ortogonal.
    """

    def __init__(
        self,
        input_size: int = 28,
        hidden_size: int = 64,
        num_classes: int = 10,
        *,
        norm: str = "none",
        max_steps: int = 28,
    ) -> None:
        super().__init__()
        self.input_size = check_int(input_size, "input_size", minimum=1)
        self.hidden_size = check_int(hidden_size, "hidden_size", minimum=1)
        num_classes = check_int(num_classes, "num_classes", minimum=2)
        self.norm = check_choice(norm, "norm", RECURRENT_NORMS)
        self.max_steps = check_int(max_steps, "max_steps", minimum=1)
        self.input = nn.Linear(self.input_size, self.hidden_size, bias=norm == "none")
        self.recurrent = nn.Linear(self.hidden_size, self.hidden_size, bias=False)
        nn.init.orthogonal_(self.recurrent.weight)
        if norm == "batch_shared":
            self.normalization: nn.Module = nn.BatchNorm1d(self.hidden_size)
        elif norm == "batch_per_step":
            self.normalization = StepwiseBatchNorm(self.hidden_size, self.max_steps)
        elif norm == "layer":
            self.normalization = nn.LayerNorm(self.hidden_size)
        else:
            self.normalization = nn.Identity()
        self.head = nn.Linear(self.hidden_size, num_classes)

    def _sequence(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"RowRNN espera un tensor; recibió {describe(x)}.")
        if x.ndim == 4 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 3 or x.shape[2] != self.input_size or x.shape[1] == 0:
            raise ValueError(
                f"RowRNN espera secuencias (N, T, {self.input_size}) o imágenes "
                f"(N, 1, T, {self.input_size}) con T ≥ 1; recibió la forma {tuple(x.shape)}."
            )
        if not torch.is_floating_point(x):
            raise TypeError(f"RowRNN espera un tensor real (float); recibió {x.dtype}.")
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._sequence(x)
        inputs = self.input(x)  # (N, T, H): la parte de la entrada, de una vez para todos los pasos
        h = inputs.new_zeros(x.shape[0], self.hidden_size)
        for t in range(x.shape[1]):
            a = inputs[:, t] + self.recurrent(h)
            if self.norm == "batch_per_step":
                a = self.normalization(a, t)
            else:
                a = self.normalization(a)
            h = torch.tanh(a)
        return self.head(h)
