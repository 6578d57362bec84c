"""Ayudantes de Keras 3 (motor TensorFlow) para el capítulo «Implementación en Keras».

Contenido:

- :func:`build_mlp`: el perceptrón multicapa del curso (784 → 512 → 256 → 10) con BN o sin
  ella, antes o después de la activación, y con o sin sesgo en las capas densas ocultas.
- :func:`prepare_mnist` y :func:`load_prepared_mnist`: MNIST aplanado, escalado a [0, 1] y con
  etiquetas en codificación *one-hot*, a partir de :func:`bncourse.load_mnist`.
- :class:`EpochLogger`: una línea breve por época, sin barras de progreso.
- :func:`fit`: entrenamiento que devuelve un :class:`bncourse.History`, la misma forma que usa
  el capítulo de PyTorch, de modo que :func:`bncourse.plotting.plot_history` sirve para los dos.
- :func:`predict` y :func:`evaluate`: predicciones, pérdida y exactitud en modo de inferencia.
- :func:`split_cpu` y :func:`replica_values`: varios dispositivos lógicos en la CPU para
  ``tf.distribute.MirroredStrategy`` y el valor de una variable en cada réplica.
- :class:`RenormSchedule` y :func:`renorm_limits`: la evolución de los límites de la
  renormalización por lotes (``BatchNormalization(renorm=True)``) según el artículo.

Registro de TensorFlow
    Antes de importar TensorFlow este módulo fija ``TF_CPP_MIN_LOG_LEVEL=2`` (si no estaba
    definida), para que los mensajes informativos de su núcleo en C++ no lleguen a la salida de
    error de los cuadernos, y ``KERAS_BACKEND=tensorflow``.

Orden de importación con PyTorch
    Si en un mismo proceso se van a usar PyTorch y TensorFlow, **importe** ``torch`` **y**
    ``torchvision`` **antes que este módulo**. Con las versiones fijadas del curso, cargar el
    ``triton`` de PyTorch después de TensorFlow termina el proceso con un fallo de segmentación.
    Importar solo ``torch`` no basta: PyTorch carga ``triton`` de forma perezosa, en el primer
    ``optimizer.step()`` o al pedir algoritmos deterministas (lo que hace
    :func:`bncourse.seed_everything` si ``torch`` ya está importado); ``torchvision`` lo carga al
    importarse. Este módulo no importa ``torch`` (si está instalado pero aún no importado, no lo
    carga por usted): el orden es responsabilidad de quien mezcla los dos marcos. Un cuaderno
    que solo usa Keras no corre ningún riesgo.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":  # pragma: no cover - depende del entorno
    raise ImportError(
        "bncourse.keras necesita Keras 3 con el motor TensorFlow; Keras está usando el motor "
        f"«{keras.backend.backend()}». Defina KERAS_BACKEND=tensorflow antes de importar keras."
    )

from .data import load_prepared_mnist, non_iid_order, prepare_mnist  # noqa: E402
from .distributed import replica_values, split_cpu  # noqa: E402
from .models import ACTIVATIONS, BN_POSITIONS, build_mlp  # noqa: E402
from .renorm import RenormSchedule, renorm_limits  # noqa: E402
from .training import EpochLogger, evaluate, fit, predict  # noqa: E402

__all__ = [
    "ACTIVATIONS",
    "BN_POSITIONS",
    "EpochLogger",
    "RenormSchedule",
    "build_mlp",
    "evaluate",
    "fit",
    "load_prepared_mnist",
    "non_iid_order",
    "predict",
    "prepare_mnist",
    "renorm_limits",
    "replica_values",
    "split_cpu",
]
