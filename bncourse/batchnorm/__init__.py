"""Implementación de referencia de la normalización por lotes con NumPy, sin marcos de trabajo.

Funciones puras al estilo de ``layers.py`` de CS231n: la pasada hacia delante devuelve la salida
y una *caché* (:class:`BatchNormCache`) con lo que necesita la pasada hacia atrás; nada se
modifica en su sitio. Sigue a Ioffe y Szegedy (2015):

- :func:`batchnorm_forward` con ``mode="train"`` es el algoritmo 1 (media y varianza **sesgada**
  del minilote, normalización con ``eps``, escala ``gamma`` y desplazamiento ``beta``); con
  ``mode="inference"`` es el algoritmo 2 (estadísticas de población).
- :func:`batchnorm_backward` deriva la retropropagación siguiendo el grafo de cálculo paso a
  paso; :func:`batchnorm_backward_alt` usa la fórmula cerrada. Ambas devuelven
  ``(dx, dgamma, dbeta)``.
- :func:`update_running_stats` actualiza las estadísticas de población con la convención de
  PyTorch o la de Keras (véase :data:`CONVENTIONS`).
- :func:`batchnorm_inference_affine` da los coeficientes ``a`` y ``b`` de la forma afín
  ``y = a·x + b`` a la que se reduce BN en inferencia.

Formas admitidas: ``(N, D)`` para capas densas (estadísticas por característica, sobre N) y
``(N, C, H, W)`` para capas convolucionales (estadísticas por canal, sobre N, H y W), como
``BatchNorm1d`` y ``BatchNorm2d`` de PyTorch. Keras usa los canales al final
(``axis=-1``): traspóngase ``(N, H, W, C)`` a ``(N, C, H, W)`` para usar estas funciones.

Tipos: ``float32`` y ``float64``; las salidas tienen el tipo de ``x`` (``gamma``, ``beta`` y las
estadísticas se convierten a ese tipo).

Módulos: :mod:`~bncourse.batchnorm.forward` (la pasada hacia delante y su caché),
:mod:`~bncourse.batchnorm.backward` (las dos retropropagaciones) y
:mod:`~bncourse.batchnorm.population` (estadísticas de población, convenciones de PyTorch y
Keras, y la forma afín de la inferencia). Todos sus nombres públicos se importan desde aquí.
"""

from .backward import batchnorm_backward, batchnorm_backward_alt
from .forward import BatchNormCache, batchnorm_forward
from .population import CONVENTIONS, batchnorm_inference_affine, update_running_stats

__all__ = [
    "CONVENTIONS",
    "BatchNormCache",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "batchnorm_forward",
    "batchnorm_inference_affine",
    "update_running_stats",
]
