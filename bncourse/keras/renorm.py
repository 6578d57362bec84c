"""Renormalización por lotes (Ioffe, 2017) en Keras: la evolución de los límites de r y d.

``keras.layers.BatchNormalization(renorm=True, renorm_clipping=...)`` recorta la corrección
``r`` a ``[rmin, rmax]`` y ``d`` a ``[-dmax, dmax]`` con los valores del diccionario
``renorm_clipping``, que la capa lee en cada paso. Keras no trae la evolución del artículo
(BN pura al principio y límites que se relajan después); :class:`RenormSchedule` la añade: crea
el diccionario con tres variables de Keras y las actualiza antes de cada minilote desde un
*callback*. Las variables se leen dentro del grafo de ``model.fit``, así que el cambio surte
efecto sin volver a compilar nada.
"""

from __future__ import annotations

from typing import Any

import keras

from ..batchnorm.renorm import renorm_limits

__all__ = ["RenormSchedule", "renorm_limits"]




class RenormSchedule(keras.callbacks.Callback):
    """*Callback* que hace evolucionar los límites de ``BatchNormalization(renorm=True)``.

    Uso::

        schedule = RenormSchedule(warmup_steps=50, r_max_steps=400, d_max_steps=250)
        layer = keras.layers.BatchNormalization(renorm=True,
                                                renorm_clipping=schedule.clipping)
        model.fit(..., callbacks=[schedule])

    ``schedule.clipping`` es el diccionario ``{"rmin", "rmax", "dmax"}`` que se pasa a cada capa
    (el mismo para todas): tres variables de Keras que empiezan en ``1, 1, 0`` (BN pura) y que
    el *callback* fija con :func:`renorm_limits` antes de cada minilote de entrenamiento, con
    ``rmin = 1 / rmax`` como en el artículo. El contador de pasos sigue entre llamadas a
    ``fit``; :meth:`reset` lo pone a 0.

    Un modelo cuyas capas guardan este diccionario no se puede serializar con
    ``get_config``: para guardarlo, use ``model.save_weights`` o reconstruya las capas con
    límites fijos.
    """

    def __init__(
        self,
        *,
        r_max: float = 3.0,
        d_max: float = 5.0,
        warmup_steps: int = 0,
        r_max_steps: int = 0,
        d_max_steps: int = 0,
    ) -> None:
        super().__init__()
        self.limits_kwargs: dict[str, Any] = {
            "r_max": r_max,
            "d_max": d_max,
            "warmup_steps": warmup_steps,
            "r_max_steps": r_max_steps,
            "d_max_steps": d_max_steps,
        }
        renorm_limits(0, **self.limits_kwargs)  # valida los argumentos
        self.steps = 0
        self.clipping = {
            name: keras.Variable(value, trainable=False, dtype="float32", name=f"renorm_{name}")
            for name, value in (("rmin", 1.0), ("rmax", 1.0), ("dmax", 0.0))
        }

    def limits(self) -> tuple[float, float]:
        """``(r_max, d_max)`` para el próximo minilote de entrenamiento."""
        return renorm_limits(self.steps, **self.limits_kwargs)

    def reset(self) -> None:
        """Vuelve al paso 0 (BN pura) para entrenar otro modelo desde el principio."""
        self.steps = 0
        self._assign()

    def _assign(self) -> None:
        r_max, d_max = self.limits()
        self.clipping["rmin"].assign(1.0 / r_max)
        self.clipping["rmax"].assign(r_max)
        self.clipping["dmax"].assign(d_max)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._assign()
        self.steps += 1
