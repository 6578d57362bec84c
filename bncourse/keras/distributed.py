"""Ayudantes para el entrenamiento distribuido con Keras en la CPU (``tf.distribute``).

- :func:`split_cpu`: divide la CPU en varios dispositivos lógicos, para que
  ``tf.distribute.MirroredStrategy`` tenga réplicas sin tarjetas gráficas.
- :func:`replica_values`: el valor de cada réplica de una variable; con ``MirroredStrategy``,
  una variable que se actualiza sin agregación (como las medias móviles de
  ``BatchNormalization(synchronized=False)``) puede valer distinto en cada dispositivo.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .._checks import check_int

__all__ = ["replica_values", "split_cpu"]


def split_cpu(count: int = 2) -> list[str]:
    """Divide la primera CPU física en ``count`` dispositivos lógicos y devuelve sus nombres.

    Hay que llamarla **antes** de que TensorFlow inicialice su motor de ejecución (antes de
    crear el primer tensor o la primera capa); importar ``tensorflow`` o ``keras`` no lo
    inicializa. Los dispositivos comparten los núcleos de la máquina: sirven para ejecutar de
    verdad el código distribuido, no para ir más deprisa. Si la CPU ya está dividida en
    ``count`` dispositivos, no hace nada.

    Devuelve
    --------
    Los nombres para ``tf.distribute.MirroredStrategy``: ``["/cpu:0", "/cpu:1", ...]``.
    """
    count = check_int(count, "count", minimum=1, maximum=64)
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is None or len(current) != count:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
            )
        except RuntimeError as error:
            raise RuntimeError(
                f"No se puede dividir la CPU en {count} dispositivos lógicos: TensorFlow ya está "
                "inicializado (ya se creó algún tensor, capa o modelo). Llame a split_cpu al "
                "principio, justo después de importar, y reinicie el núcleo si hace falta."
            ) from error
    return [f"/cpu:{i}" for i in range(count)]


def replica_values(variable: object) -> list[np.ndarray]:
    """Valor de ``variable`` en cada réplica, como arreglos de NumPy (uno por dispositivo).

    Acepta una variable de Keras (``layer.moving_mean``) o de TensorFlow. Fuera de una
    estrategia distribuida devuelve una lista con un solo valor. Leer la variable normalmente
    (``variable.numpy()``, ``get_weights()``) da el valor de la primera réplica.
    """
    value = variable.value if isinstance(variable, keras.Variable) else variable
    if not isinstance(value, tf.Variable):
        raise TypeError(
            "«variable» debe ser una variable de Keras o de TensorFlow; se recibió "
            f"{type(variable).__name__}."
        )
    components = getattr(value, "values", None)
    if not isinstance(components, tuple):
        return [np.asarray(value.numpy())]
    return [np.asarray(component.numpy()) for component in components]
