"""La red de la receta original de PyTorch, copiada tal cual, para comparar con ella.

La usan las pruebas de ``bncourse.torch`` (mismos parámetros y pesos iniciales que
``RecipeCNN``) y la prueba de rendimiento ``tools/benchmarks/bench_pytorch.py``. Conserva a propósito
lo que el capítulo de PyTorch corrige: la pasada de tamaño en modo de entrenamiento, que actualiza
las estadísticas de BN con un tensor de ceros.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class RecipeNet(nn.Module):
    """La red de la receta original, tal cual (incluida la pasada de tamaño en modo de entrenamiento)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, 1)
        self.bn1 = nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, 64, 3, 1)
        self.bn3 = nn.BatchNorm2d(64)
        self._to_linear = None
        self.convs = nn.Sequential(
            self.conv1, self.bn1, nn.ReLU(), self.pool,
            self.conv2, self.bn2, nn.ReLU(), self.pool,
            self.conv3, self.bn3, nn.ReLU(), self.pool,
        )  # fmt: skip
        self._get_conv_output((3, 32, 32))
        self.fc1 = nn.Linear(self._to_linear, 64)
        self.bn_fc1 = nn.BatchNorm1d(64)
        self.fc2 = nn.Linear(64, 10)

    def _get_conv_output(self, shape):
        o = torch.zeros(1, *shape)
        o = self.convs(o)
        self._to_linear = int(np.prod(o.size()))

    def forward(self, x):
        x = self.convs(x)
        x = x.view(-1, self._to_linear)
        x = F.relu(self.bn_fc1(self.fc1(x)))
        return self.fc2(x)
