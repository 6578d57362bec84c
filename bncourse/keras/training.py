"""Entrenamiento y evaluación del perceptrón multicapa con Keras, sin barras de progreso."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from .._checks import check_array, check_bool, check_choice, check_float, check_int, describe
from ..history import History
from ..reproducibility import seed_everything
from .data import one_hot_labels

__all__ = ["OPTIMIZERS", "EpochLogger", "evaluate", "fit", "predict"]

OPTIMIZERS: tuple[str, ...] = ("adam", "sgd")
"""Optimizadores que acepta :func:`fit`."""


class EpochLogger(keras.callbacks.Callback):
    """*Callback* de Keras que escribe una sola línea breve al final de cada época.

    Úsela con ``model.fit(..., verbose=0, callbacks=[EpochLogger()])`` para ver el progreso sin
    las barras de Keras, que llenan la salida de los cuadernos. Ejemplo de línea (el formato es
    el mismo que el de :func:`bncourse.torch.fit`)::

        con BN: época 2/4  pérdida 0.061/0.085  exactitud 98.12 %/97.40 %  (entrenamiento/prueba)  10.2 s

    La pérdida y la exactitud de entrenamiento son las medias de Keras a lo largo de la época
    (con la red cambiando y BN en modo de entrenamiento); las de prueba (lo que Keras llama
    validación) se miden al final de la época, en modo de inferencia. El tiempo es el acumulado
    desde el principio del entrenamiento.

    Parámetros
    ----------
    label:
        Prefijo de cada línea, para distinguir configuraciones.
    every:
        Escribe solo las épocas múltiplo de ``every`` y la última.
    """

    def __init__(self, label: str = "", every: int = 1) -> None:
        super().__init__()
        if not isinstance(label, str):
            raise TypeError(f"«label» debe ser una cadena; se recibió {describe(label)}.")
        self.label = label
        self.every = check_int(every, "every", minimum=1)
        self._start = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        total = (self.params or {}).get("epochs") or epoch + 1
        if (epoch + 1) % self.every and epoch + 1 != total and not self.model.stop_training:
            return
        parts = [f"{self.label + ': ' if self.label else ''}época {epoch + 1}/{total}"]
        for key, name, fmt in (("loss", "pérdida", "{:.3f}"), ("accuracy", "exactitud", "{:.2%}")):
            if key in logs:
                text = f"{name} " + fmt.format(logs[key]).replace("%", " %")
                if f"val_{key}" in logs:
                    text += "/" + fmt.format(logs[f"val_{key}"]).replace("%", " %")
                parts.append(text)
        if "val_loss" in logs or "val_accuracy" in logs:
            parts.append("(entrenamiento/prueba)")
        parts.append(f"{time.perf_counter() - self._start:.1f} s")
        print("  ".join(parts), flush=True)


class _HistoryRecorder(keras.callbacks.Callback):
    """Copia las métricas de cada época de Keras en un :class:`~bncourse.History`."""

    def __init__(self, history: History, stop_on_divergence: bool) -> None:
        super().__init__()
        self.history_ = history
        self.stop_on_divergence = stop_on_divergence
        self._start = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.history_.append(
            train_loss=float(logs["loss"]),
            train_accuracy=float(logs["accuracy"]),
            test_loss=float(logs["val_loss"]),
            test_accuracy=float(logs["val_accuracy"]),
            seconds=time.perf_counter() - self._start,
        )
        if self.stop_on_divergence and not math.isfinite(float(logs["loss"])):
            self.model.stop_training = True


def _input_width(model: keras.Model) -> int:
    shape = model.input_shape
    if isinstance(shape, list):
        raise ValueError("El modelo debe tener una sola entrada; tiene varias.")
    return int(shape[-1])


def _check_xy(
    x: np.ndarray, y: np.ndarray, names: tuple[str, str], width: int, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Valida un par (imágenes, etiquetas) y lo devuelve listo para Keras."""
    name_x, name_y = names
    x = check_array(x, name_x, ndim=2, dtype=np.floating, finite=True)
    if x.shape[1] != width:
        raise ValueError(
            f"«{name_x}» debe tener {width} columnas, la anchura de entrada del modelo; tiene "
            f"{x.shape[1]} (forma {x.shape}). Aplane las imágenes con prepare_mnist."
        )
    y = check_array(y, name_y, ndim=(1, 2), finite=True)
    if y.ndim == 1:
        y = one_hot_labels(y, name_y, num_classes=num_classes)
    else:
        if y.shape[1] != num_classes:
            raise ValueError(
                f"«{name_y}» en formato one-hot debe tener {num_classes} columnas, una por "
                f"clase; tiene {y.shape[1]}."
            )
        if not (np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1)):
            raise ValueError(
                f"«{name_y}» debe ser one-hot: en cada fila un 1 y el resto 0 (o bien etiquetas "
                f"enteras entre 0 y {num_classes - 1})."
            )
    if len(x) != len(y):
        raise ValueError(
            f"«{name_x}» e «{name_y}» deben tener el mismo número de ejemplos; tienen {len(x)} "
            f"y {len(y)}."
        )
    if len(x) == 0:
        raise ValueError(f"«{name_x}» no contiene ningún ejemplo.")
    return x.astype(np.float32, copy=False), y.astype(np.float32, copy=False)


def _num_classes(model: keras.Model) -> int:
    return int(model.output_shape[-1])


def fit(
    model: keras.Model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    optimizer: str = "adam",
    seed: int | None = 0,
    label: str = "",
    verbose: bool = True,
    stop_on_divergence: bool = True,
    compile_model: bool = True,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    shuffle: bool = True,
) -> History:
    """Compila y entrena ``model`` con ``model.fit`` y devuelve su historial por épocas.

    Es el ``model.compile`` + ``model.fit`` de las notas (pérdida ``categorical_crossentropy``,
    métrica ``accuracy``), con ``verbose=0`` y una línea por época (:class:`EpochLogger`) en
    lugar de las barras de progreso. Tras cada época evalúa en ``(x_test, y_test)`` en modo
    inferencia (lo que Keras llama validación).

    Parámetros
    ----------
    model:
        Un modelo de Keras de una entrada, como el de :func:`bncourse.keras.build_mlp`.
    x_train, x_test:
        Imágenes aplanadas ``(N, anchura de entrada)``, reales y finitas (véase
        :func:`bncourse.keras.prepare_mnist`).
    y_train, y_test:
        Etiquetas *one-hot* ``(N, clases)`` o enteras ``(N,)`` entre 0 y ``clases - 1``.
    epochs, batch_size:
        Épocas y tamaño del minilote (128, como en las notas).
    lr, optimizer:
        Tasa de aprendizaje y optimizador (``"adam"``, el de las notas, o ``"sgd"`` sin
        momento).
    seed:
        Si no es ``None``, se llama a :func:`bncourse.seed_everything` antes de entrenar, lo
        que fija el barajado de los minilotes y activa el determinismo de TensorFlow
        (``enable_op_determinism``) para el resto del proceso. Con él activo, ``model.fit`` y
        ``model.predict`` con arreglos de NumPy escriben en la salida de error un aviso espurio
        del núcleo en C++ (``use_unbounded_threadpool``); por eso esta función arma sus
        minilotes con un ``tf.data`` propio (mismo barajado por época que ``model.fit``) y
        :func:`predict` llama al modelo directamente.
    label:
        Nombre de la configuración, para el historial y las líneas de progreso.
    verbose:
        Si es ``True``, escribe una línea por época (:class:`EpochLogger`).
    stop_on_divergence:
        Si la pérdida de entrenamiento de una época deja de ser finita, registra esa época y se
        detiene.
    compile_model:
        Si es ``True`` (por defecto), compila el modelo con un optimizador nuevo. Con ``False``
        se usa la compilación que ya tenga (por ejemplo, para seguir entrenando con el estado
        del optimizador).
    callbacks:
        *Callbacks* de Keras adicionales (subclases de ``keras.callbacks.Callback``), que se
        llaman después de los de esta función: en ``on_epoch_end`` ya está hecha la
        evaluación en prueba de la época y registrada en el historial.
    shuffle:
        Con ``True`` (por defecto), los ejemplos se barajan en cada época. Con ``False``, los
        minilotes son los ejemplos en el orden recibido (los ``batch_size`` primeros, los
        siguientes...), los mismos en cada época: así se entrena con minilotes armados a
        propósito, por ejemplo no i.i.d.

    Devuelve
    --------
    Un :class:`bncourse.History` con la pérdida y la exactitud (fracción entre 0 y 1) de cada
    época en entrenamiento (medias a lo largo de la época) y en prueba.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"«model» debe ser un modelo de Keras; se recibió {describe(model)}.")
    width, classes = _input_width(model), _num_classes(model)
    x_train, y_train = _check_xy(x_train, y_train, ("x_train", "y_train"), width, classes)
    x_test, y_test = _check_xy(x_test, y_test, ("x_test", "y_test"), width, classes)
    epochs = check_int(epochs, "epochs", minimum=1, maximum=10_000)
    batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=len(x_train))
    lr = check_float(lr, "lr", minimum=0.0, strict_minimum=True)
    optimizer = check_choice(optimizer, "optimizer", OPTIMIZERS)
    if seed is not None:
        seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    if not isinstance(label, str):
        raise TypeError(f"«label» debe ser una cadena; se recibió {describe(label)}.")
    verbose = check_bool(verbose, "verbose")
    stop_on_divergence = check_bool(stop_on_divergence, "stop_on_divergence")
    compile_model = check_bool(compile_model, "compile_model")
    shuffle = check_bool(shuffle, "shuffle")
    if not compile_model and not model.compiled:
        raise ValueError("«compile_model» es False, pero el modelo no está compilado.")
    if isinstance(callbacks, keras.callbacks.Callback) or not isinstance(callbacks, Sequence):
        raise TypeError(
            "«callbacks» debe ser una lista de callbacks de Keras; se recibió "
            f"{describe(callbacks)}."
        )
    extra_callbacks = list(callbacks)
    for i, callback in enumerate(extra_callbacks):
        if not isinstance(callback, keras.callbacks.Callback):
            raise TypeError(
                f"«callbacks[{i}]» debe ser un callback de Keras (keras.callbacks.Callback); se "
                f"recibió {describe(callback)}."
            )

    if seed is not None:
        seed_everything(seed)
    if compile_model:
        opt = (
            keras.optimizers.Adam(learning_rate=lr)
            if optimizer == "adam"
            else keras.optimizers.SGD(learning_rate=lr)
        )
        model.compile(optimizer=opt, loss="categorical_crossentropy", metrics=["accuracy"])

    history = History(label=label)
    all_callbacks: list[keras.callbacks.Callback] = [
        _HistoryRecorder(history, stop_on_divergence)
    ]
    if verbose:
        all_callbacks.append(EpochLogger(label))
    all_callbacks += extra_callbacks
    # Los minilotes salen de un tf.data propio (barajado con la semilla, sin «map» en
    # paralelo): el adaptador de arreglos de Keras usa un «map» en paralelo que, con el
    # determinismo de TensorFlow activado, escribe un error espurio del núcleo en C++ en la
    # salida de error.
    train_data = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    if shuffle:
        train_data = train_data.shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True)
    train_data = train_data.batch(batch_size)
    test_data = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(1000)
    model.fit(
        train_data,
        epochs=epochs,
        validation_data=test_data,
        callbacks=all_callbacks,
        shuffle=False,
        verbose=0,
    )
    return history


def predict(model: keras.Model, x: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    """Salidas de ``model`` para ``x`` en modo de inferencia, como un arreglo de NumPy.

    Equivale a ``model.predict(x, verbose=0)``: llama al modelo con ``training=False`` (las
    capas BN usan sus medias móviles) por bloques de ``batch_size`` ejemplos. A diferencia de
    ``predict``, no pasa por el adaptador de arreglos de Keras, cuyo ``map`` en paralelo, con el
    determinismo de TensorFlow activado, escribe un error espurio del núcleo en C++ en la salida
    de error.

    Parámetros
    ----------
    model:
        Un modelo de Keras de una entrada.
    x:
        Entradas reales y finitas de forma ``(N, anchura de entrada)``.
    batch_size:
        Ejemplos por bloque.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"«model» debe ser un modelo de Keras; se recibió {describe(model)}.")
    width = _input_width(model)
    x = check_array(x, "x", ndim=2, dtype=np.floating, finite=True)
    if x.shape[1] != width:
        raise ValueError(
            f"«x» debe tener {width} columnas, la anchura de entrada del modelo; tiene "
            f"{x.shape[1]} (forma {x.shape}). Aplane las imágenes con prepare_mnist."
        )
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    x = x.astype(np.float32, copy=False)
    return np.concatenate(
        [
            keras.ops.convert_to_numpy(model(x[i : i + batch_size], training=False))
            for i in range(0, len(x), batch_size)
        ]
        or [np.zeros((0, _num_classes(model)), np.float32)]
    )


def evaluate(
    model: keras.Model, x: np.ndarray, y: np.ndarray, *, batch_size: int = 1000
) -> tuple[float, float]:
    """Pérdida (entropía cruzada media) y exactitud (fracción) de ``model`` en modo de inferencia.

    No necesita que el modelo esté compilado: predice con :func:`predict` (``training=False``,
    BN con sus medias móviles) y calcula las dos cifras con NumPy.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"«model» debe ser un modelo de Keras; se recibió {describe(model)}.")
    x, y = _check_xy(x, y, ("x", "y"), _input_width(model), _num_classes(model))
    probs = predict(model, x, batch_size=batch_size).astype(np.float64)
    labels = y.argmax(axis=1)
    picked = np.clip(probs[np.arange(len(x)), labels], 1e-7, 1.0)
    loss = float(-np.mean(np.log(picked)))
    accuracy = float(np.mean(probs.argmax(axis=1) == labels))
    return loss, accuracy
