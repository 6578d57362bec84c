"""Correctores de los ejercicios «Impleméntela usted» del capítulo de teoría.

El lector escribe su propia normalización por lotes con NumPy y cada corrector la pone a prueba,
al estilo de las tareas de CS231n, pero con una respuesta en español que dice **lo primero que
está mal** (qué comprobación, qué característica, qué posición, qué valor se esperaba) en lugar
de un ``AssertionError`` sin explicación. Las firmas que se piden son:

- ``batchnorm_forward(x, gamma, beta, eps) -> out``: modo de entrenamiento (algoritmo 1 de Ioffe
  y Szegedy): media y varianza **sesgada** del minilote.
- ``batchnorm_backward(dout, x, gamma, eps) -> (dx, dgamma, dbeta)``: la retropropagación del
  modo de entrenamiento, en la que la media y la varianza dependen de ``x``.
- ``update_running_stats(running_mean, running_var, x, momentum) -> (mean, var)``: la media móvil
  exponencial de PyTorch (``momentum`` pesa al minilote nuevo; varianza **insesgada**).
- ``batchnorm_inference(x, gamma, beta, running_mean, running_var, eps) -> out``: el modo de
  inferencia (algoritmo 2), con las estadísticas de población.

``x`` tiene forma ``(N, D)`` (estadísticas por característica, sobre N) o ``(N, C, H, W)`` (por
canal, sobre N, H y W). Cada corrector prueba las dos formas, ``float32`` y ``float64``, un
minilote de 2 ejemplos, entradas con un desplazamiento grande (donde la fórmula
``E[x²] - E[x]²`` pierde precisión) y varios ``eps``, contra la implementación de referencia
(:mod:`bncourse.batchnorm`) y, en la retropropagación, contra diferencias finitas centradas.

Cada corrector devuelve un :class:`CheckReport`, que se muestra como un texto en español; con
``raise_on_failure=True`` lanza :class:`ExerciseError` si algo falla.

Módulos: :mod:`~bncourse.exercises.checkers` (los correctores) y
:mod:`~bncourse.exercises.grading` (casos de prueba, comparaciones e informes).
"""

from .checkers import (
    check_batchnorm_backward,
    check_batchnorm_forward,
    check_inference,
    check_running_stats,
)
from .grading import CheckReport, ExerciseError

__all__ = [
    "CheckReport",
    "ExerciseError",
    "check_batchnorm_backward",
    "check_batchnorm_forward",
    "check_inference",
    "check_running_stats",
]
