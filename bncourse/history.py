"""Historial de entrenamiento común a PyTorch y Keras.

Los bucles de entrenamiento de :mod:`bncourse.torch` y :mod:`bncourse.keras` devuelven un
:class:`History` con la misma forma, de manera que las funciones de :mod:`bncourse.plotting`
sirven para los dos marcos. Las exactitudes se guardan como fracciones entre 0 y 1.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

from ._checks import check_float, describe

__all__ = ["METRICS", "History"]

METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
"""Métricas que registra cada época, en este orden."""


@dataclass
class History:
    """Métricas por época de un entrenamiento.

    Atributos
    ---------
    label:
        Nombre de la configuración (por ejemplo, ``"con BN"``), usado en las leyendas.
    epoch:
        Número de época (1, 2, ...).
    train_loss, train_accuracy, test_loss, test_accuracy:
        Pérdida media y exactitud (fracción entre 0 y 1) en entrenamiento y en prueba.
    seconds:
        Tiempo de reloj acumulado al final de cada época, en segundos.
    """

    label: str = ""
    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.label, str):
            raise TypeError(f"«label» debe ser una cadena; se recibió {describe(self.label)}.")
        lengths = {name: len(getattr(self, name)) for name in ("epoch", *METRICS, "seconds")}
        if len(set(lengths.values())) > 1:
            found = ", ".join(f"{name}={n}" for name, n in lengths.items())
            raise ValueError(
                f"Todas las listas de un History deben tener la misma longitud; tienen {found}."
            )

    def __len__(self) -> int:
        return len(self.epoch)

    def append(
        self,
        *,
        train_loss: float,
        train_accuracy: float,
        test_loss: float,
        test_accuracy: float,
        seconds: float,
    ) -> None:
        """Añade las métricas de una época (la época se numera sola).

        Las exactitudes son fracciones entre 0 y 1 y ``seconds`` es el tiempo acumulado (≥ 0).
        Las pérdidas pueden ser ``nan`` o infinitas: así queda registrado un entrenamiento que
        diverge. Se aceptan números de Python y escalares de NumPy (``np.float32``, ...).
        """
        values = {
            "train_loss": train_loss,
            "train_accuracy": train_accuracy,
            "test_loss": test_loss,
            "test_accuracy": test_accuracy,
        }
        for name, value in values.items():
            if name.endswith("accuracy"):
                check_float(value, name, minimum=0.0, maximum=1.0)
            elif isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"«{name}» debe ser un número real; se recibió {describe(value)}.")
        seconds = check_float(seconds, "seconds", minimum=0.0)
        self.epoch.append(len(self.epoch) + 1)
        for name, value in values.items():
            getattr(self, name).append(float(value))
        self.seconds.append(seconds)

    def epochs_to_reach(self, accuracy: float) -> int | None:
        """Primera época cuya exactitud de prueba es al menos ``accuracy``; ``None`` si ninguna."""
        accuracy = check_float(accuracy, "accuracy", minimum=0.0, maximum=1.0)
        for epoch, value in zip(self.epoch, self.test_accuracy, strict=True):
            if value >= accuracy:
                return epoch
        return None

    def seconds_to_reach(self, accuracy: float) -> float:
        """Segundos hasta la primera época con exactitud de prueba ≥ ``accuracy`` (``inf`` si nunca)."""
        epoch = self.epochs_to_reach(accuracy)
        return math.inf if epoch is None else self.seconds[epoch - 1]

    def to_rows(self) -> list[dict[str, float | int | str]]:
        """Una fila (diccionario) por época, en formato «ordenado» (tidy)."""
        return [
            {
                "label": self.label,
                "epoch": e,
                **{m: getattr(self, m)[i] for m in METRICS},
                "seconds": self.seconds[i],
            }
            for i, e in enumerate(self.epoch)
        ]

    def summary(self) -> str:
        """Resumen de una línea de la última época."""
        if not self.epoch:
            return f"{self.label or 'historial'}: sin épocas"
        i = -1
        return (
            f"{self.label or 'historial'}: {self.epoch[i]} épocas, "
            f"pérdida {self.train_loss[i]:.3f}/{self.test_loss[i]:.3f}, "
            f"exactitud {100 * self.train_accuracy[i]:.2f} %/{100 * self.test_accuracy[i]:.2f} % "
            "(entrenamiento/prueba)"
        )
