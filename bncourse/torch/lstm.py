"""LSTM con la normalización dentro de la celda, para secuencias de longitud variable.

:class:`NormLSTMCell` calcula, en el paso :math:`t`, con las puertas en el orden de
``nn.LSTMCell`` (entrada :math:`i`, olvido :math:`f`, candidata :math:`g`, salida :math:`o`):

.. math::

    (i, f, g, o) = \\mathrm{N}^x_t(W_x x_t) + \\mathrm{N}^h_t(W_h h_{t-1}) + b, \\qquad
    c_t = \\sigma(f) \\odot c_{t-1} + \\sigma(i) \\odot \\tanh(g), \\qquad
    h_t = \\sigma(o) \\odot \\tanh(\\mathrm{N}^c_t(c_t)),

y ``norm`` elige las tres normalizaciones :math:`\\mathrm{N}^x_t`, :math:`\\mathrm{N}^h_t`,
:math:`\\mathrm{N}^c_t`:

- ``"none"``: identidades; la celda es exactamente ``nn.LSTMCell``;
- ``"batch"``: BN con estadísticas propias de cada paso (:class:`~bncourse.torch.recurrent.
  StepwiseBatchNorm`) sobre las dos transformaciones y sobre la celda, como Cooijmans et al.
  (2017), con :math:`\\gamma` iniciado a 0.1 en las dos primeras;
- ``"layer"``: ``nn.LayerNorm`` sobre las mismas tres cantidades, como Ba et al. (2016).

:class:`RowLSTM` lee secuencias ``(N, T, D)`` con longitudes ``lengths`` (relleno al final) y
clasifica con el estado del último paso real de cada secuencia: en los pasos de relleno el
estado no cambia. Las BN, en cambio, calculan sus estadísticas con **todas** las filas del
minilote, también las de relleno: es lo que ocurre al normalizar por pasos un minilote de
secuencias de longitudes distintas sin máscara.

:class:`RowGRU` es el mismo clasificador con una celda ``nn.GRUCell`` sin normalizar, para
comparar las dos celdas en la misma tarea.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_bool, check_choice, check_int, describe
from .recurrent import StepwiseBatchNorm

__all__ = [
    "LSTM_NORMS",
    "NormLSTMCell",
    "RowGRU",
    "RowLSTM",
    "crop_blank_rows",
    "halve_rows",
    "padded_lengths",
]

LSTM_NORMS = ("none", "batch", "layer")
"""Normalizaciones disponibles en :class:`NormLSTMCell` y :class:`RowLSTM`."""


class NormLSTMCell(nn.Module):
    """Celda LSTM con normalización de las transformaciones y de la celda (véase el módulo).

    Parámetros
    ----------
    input_size, hidden_size:
        Tamaños de la entrada y del estado.
    norm:
        ``"none"``, ``"batch"`` o ``"layer"`` (véase :data:`LSTM_NORMS`).
    max_steps:
        Pasos con estadísticas propias (solo ``"batch"``).
    """

    def __init__(
        self, input_size: int, hidden_size: int, *, norm: str = "none", max_steps: int = 28
    ) -> None:
        super().__init__()
        self.input_size = check_int(input_size, "input_size", minimum=1)
        self.hidden_size = check_int(hidden_size, "hidden_size", minimum=1)
        self.norm = check_choice(norm, "norm", LSTM_NORMS)
        self.max_steps = check_int(max_steps, "max_steps", minimum=1)
        gates = 4 * self.hidden_size
        self.input = nn.Linear(self.input_size, gates, bias=False)
        self.recurrent = nn.Linear(self.hidden_size, gates, bias=False)
        self.bias = nn.Parameter(torch.zeros(gates))
        bound = self.hidden_size**-0.5  # la inicialización uniforme de nn.LSTMCell
        for weight in (self.input.weight, self.recurrent.weight):
            nn.init.uniform_(weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)
        if norm == "batch":
            self.norm_x: nn.Module = StepwiseBatchNorm(gates, self.max_steps)
            self.norm_h: nn.Module = StepwiseBatchNorm(gates, self.max_steps)
            self.norm_c: nn.Module = StepwiseBatchNorm(self.hidden_size, self.max_steps)
            for module in (self.norm_x, self.norm_h):
                nn.init.constant_(module.weight, 0.1)  # Cooijmans et al. (2017), §4
        elif norm == "layer":
            self.norm_x = nn.LayerNorm(gates)
            self.norm_h = nn.LayerNorm(gates)
            self.norm_c = nn.LayerNorm(self.hidden_size)
        else:
            self.norm_x = self.norm_h = self.norm_c = nn.Identity()

    def _normalize(self, module: nn.Module, x: torch.Tensor, step: int) -> torch.Tensor:
        return module(x, step) if self.norm == "batch" else module(x)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], step: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Un paso: devuelve ``(h_t, c_t)`` a partir de ``x_t`` y ``(h_{t-1}, c_{t-1})``."""
        h, c = state
        gates = (
            self._normalize(self.norm_x, self.input(x), step)
            + self._normalize(self.norm_h, self.recurrent(h), step)
            + self.bias
        )
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(self._normalize(self.norm_c, c, step))
        return h, c


class RowLSTM(nn.Module):
    """Clasificador LSTM de secuencias con relleno al final.

    Parámetros
    ----------
    input_size, hidden_size, num_classes:
        Valores por paso, tamaño del estado y número de clases.
    norm:
        Normalización de la celda (véase :data:`LSTM_NORMS`).
    max_steps:
        Longitud máxima de las secuencias de entrenamiento (solo la usa ``"batch"``).

    ``forward(x, lengths=None)`` recibe ``x`` de forma ``(N, T, input_size)`` (o
    ``(N, 1, T, input_size)``) y, opcionalmente, las longitudes reales ``lengths`` (enteros
    entre 1 y ``T``). Sin ellas, con ``infer_lengths=True`` (por defecto) la longitud de cada
    secuencia acaba en su último paso con algún valor distinto de cero (el relleno son filas de
    ceros al final); con ``infer_lengths=False``, todas miden ``T``.
    """

    def __init__(
        self,
        input_size: int = 28,
        hidden_size: int = 64,
        num_classes: int = 10,
        *,
        norm: str = "none",
        max_steps: int = 28,
        infer_lengths: bool = True,
    ) -> None:
        super().__init__()
        self.infer_lengths = check_bool(infer_lengths, "infer_lengths")
        num_classes = check_int(num_classes, "num_classes", minimum=2)
        self.cell = NormLSTMCell(input_size, hidden_size, norm=norm, max_steps=max_steps)
        self.norm = self.cell.norm
        self.head = nn.Linear(self.cell.hidden_size, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x, lengths = _check_sequences(
            x, lengths, self.cell.input_size, self.infer_lengths, "RowLSTM"
        )
        n, steps = x.shape[:2]
        h = x.new_zeros(n, self.cell.hidden_size)
        c = x.new_zeros(n, self.cell.hidden_size)
        for t in range(steps):
            h_new, c_new = self.cell(x[:, t], (h, c), t)
            if lengths is None:
                h, c = h_new, c_new
            else:  # tras el último paso real, el estado se conserva
                real = (t < lengths).unsqueeze(1)
                h, c = torch.where(real, h_new, h), torch.where(real, c_new, c)
        return self.head(h)


class RowGRU(nn.Module):
    """Clasificador GRU (``nn.GRUCell``, sin normalizar) de secuencias con relleno al final.

    Los parámetros y ``forward(x, lengths=None)`` son los de :class:`RowLSTM` (sin ``norm`` ni
    ``max_steps``): en los pasos de relleno el estado no cambia, y clasifica con el estado del
    último paso real de cada secuencia.
    """

    def __init__(
        self,
        input_size: int = 28,
        hidden_size: int = 64,
        num_classes: int = 10,
        *,
        infer_lengths: bool = True,
    ) -> None:
        super().__init__()
        self.infer_lengths = check_bool(infer_lengths, "infer_lengths")
        self.input_size = check_int(input_size, "input_size", minimum=1)
        self.hidden_size = check_int(hidden_size, "hidden_size", minimum=1)
        num_classes = check_int(num_classes, "num_classes", minimum=2)
        self.cell = nn.GRUCell(self.input_size, self.hidden_size)
        self.head = nn.Linear(self.hidden_size, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x, lengths = _check_sequences(x, lengths, self.input_size, self.infer_lengths, "RowGRU")
        h = x.new_zeros(x.shape[0], self.hidden_size)
        for t in range(x.shape[1]):
            h_new = self.cell(x[:, t], h)
            h = h_new if lengths is None else torch.where((t < lengths).unsqueeze(1), h_new, h)
        return self.head(h)


def _check_sequences(
    x: torch.Tensor,
    lengths: torch.Tensor | None,
    input_size: int,
    infer_lengths: bool,
    name: str,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    # Valida (N, T, D) o (N, 1, T, D) y las longitudes; devuelve (x de forma (N, T, D), lengths).
    if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
        raise TypeError(f"{name} espera un tensor real (float); recibió {describe(x)}.")
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3 or x.shape[2] != input_size or x.shape[1] == 0:
        raise ValueError(
            f"{name} espera secuencias (N, T, {input_size}) con T ≥ 1; recibió "
            f"la forma {tuple(x.shape)}."
        )
    n, steps = x.shape[:2]
    if lengths is None and infer_lengths:
        lengths = padded_lengths(x)
    if lengths is not None:
        lengths = torch.as_tensor(lengths)
        if lengths.shape != (n,) or lengths.min() < 1 or lengths.max() > steps:
            raise ValueError(
                f"«lengths» debe tener {n} enteros entre 1 y {steps}; recibió {describe(lengths)}."
            )
    return x, lengths


def padded_lengths(x: torch.Tensor) -> torch.Tensor:
    """Longitud de cada secuencia ``(N, T, D)`` rellena con filas de ceros al final.

    Es el índice de su último paso con algún valor distinto de cero, más uno (al menos 1).
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 3:
        raise ValueError(f"padded_lengths espera un tensor (N, T, D); recibió {describe(x)}.")
    nonzero = (x != 0).any(dim=2)  # (N, T)
    steps = torch.arange(1, x.shape[1] + 1, device=x.device)
    return (nonzero * steps).amax(dim=1).clamp(min=1)


def crop_blank_rows(images: torch.Tensor) -> torch.Tensor:
    """Quita las filas en blanco de arriba de cada imagen y rellena con ceros al final.

    ``images`` es ``(N, 1, H, W)`` o ``(N, H, W)``, con el fondo a 0 (MNIST sin estandarizar).
    Cada imagen empieza en su primera fila con tinta; las filas en blanco del final, junto con
    las que se desplazan, quedan como relleno, de modo que la longitud real de cada secuencia
    (:func:`padded_lengths`) es el número de filas entre la primera y la última con tinta.
    Devuelve un tensor ``(N, H, W)``.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"crop_blank_rows espera un tensor; recibió {describe(images)}.")
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(
            f"crop_blank_rows espera imágenes (N, 1, H, W) o (N, H, W); recibió la forma "
            f"{tuple(images.shape)}."
        )
    ink = (images != 0).any(dim=2)  # (N, H)
    first = torch.where(
        ink.any(dim=1), ink.float().argmax(dim=1), torch.zeros_like(ink[:, 0], dtype=torch.long)
    )
    height = images.shape[1]
    rows = (torch.arange(height).unsqueeze(0) + first.unsqueeze(1)).clamp(max=height - 1)
    shifted = images.gather(1, rows.unsqueeze(2).expand(-1, -1, images.shape[2]))
    keep = (torch.arange(height).unsqueeze(0) + first.unsqueeze(1)) < height
    return shifted * keep.unsqueeze(2)


def halve_rows(sequences: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """Deja en las secuencias marcadas por ``which`` solo sus pasos pares, con relleno al final.

    ``sequences`` es ``(N, T, D)`` (por ejemplo, la salida de :func:`crop_blank_rows`) y
    ``which`` un vector booleano de ``N`` valores. Una secuencia marcada se lee de dos en dos
    pasos (0, 2, 4, ...): el dígito entero, con la mitad de filas, en la mitad de pasos; el
    resto hasta ``T`` son ceros. Las no marcadas no cambian.
    """
    if not isinstance(sequences, torch.Tensor) or sequences.ndim != 3:
        raise ValueError(f"halve_rows espera un tensor (N, T, D); recibió {describe(sequences)}.")
    which = torch.as_tensor(which, dtype=torch.bool)
    if which.shape != sequences.shape[:1]:
        raise ValueError(
            f"«which» debe tener {sequences.shape[0]} valores booleanos; recibió la forma "
            f"{tuple(which.shape)}."
        )
    halved = torch.zeros_like(sequences)
    even = sequences[:, ::2]
    halved[:, : even.shape[1]] = even
    return torch.where(which.view(-1, 1, 1), halved, sequences)
