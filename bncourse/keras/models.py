"""El perceptrón multicapa del capítulo de Keras, con la normalización por lotes como opción."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
from keras import layers

from .._checks import check_bool, check_choice, check_float, check_int, describe

__all__ = ["ACTIVATIONS", "BN_POSITIONS", "build_mlp"]

BN_POSITIONS: tuple[str, ...] = ("before", "after")
"""Dónde va BN respecto a la activación: ``"before"`` (como en el artículo original) o ``"after"``."""

ACTIVATIONS: tuple[str, ...] = ("relu", "sigmoid", "tanh")
"""Activaciones admitidas en las capas ocultas."""


def _hidden_sizes(value: Sequence[int]) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) == 0:
        raise TypeError(
            "«hidden_units» debe ser una secuencia no vacía de enteros, como (512, 256); se "
            f"recibió {describe(value)}."
        )
    return tuple(
        check_int(units, f"hidden_units[{i}]", minimum=1, maximum=100_000)
        for i, units in enumerate(value)
    )


def build_mlp(
    *,
    batchnorm: bool = True,
    position: str = "before",
    use_bias: bool = True,
    hidden_units: Sequence[int] = (512, 256),
    activation: str = "relu",
    input_dim: int = 784,
    num_classes: int = 10,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
    seed: int | None = None,
    name: str | None = None,
    renorm: bool = False,
    renorm_clipping: Mapping[str, Any] | None = None,
    renorm_momentum: float = 0.99,
) -> keras.Sequential:
    """Construye el perceptrón multicapa del capítulo como un ``keras.Sequential``.

    Con los valores por defecto es el modelo de las notas originales del curso: entrada de 784
    píxeles, capas densas de 512 y 256 unidades, cada una seguida de BN y ReLU, y una capa de
    salida de 10 clases con *softmax*. Las capas se llaman ``dense_1``, ``bn_1``, ``relu_1``,
    ``dense_2``, ... y ``output``.

    Parámetros
    ----------
    batchnorm:
        Si es ``True``, añade una capa ``BatchNormalization`` en cada capa oculta.
    position:
        ``"before"``: densa → BN → activación (lo que propone el artículo original);
        ``"after"``: densa → activación → BN. Sin BN se ignora.
    use_bias:
        Sesgo de las capas densas **ocultas**. Delante de BN es redundante: BN resta la media
        del minilote, que se lleva el sesgo, y su β desempeña el mismo papel. La capa de salida
        conserva siempre su sesgo, porque no la sigue ninguna BN.
    hidden_units:
        Unidades de cada capa oculta, de la entrada a la salida.
    activation:
        Activación de las capas ocultas: ``"relu"``, ``"sigmoid"`` o ``"tanh"``.
    input_dim, num_classes:
        Anchura de la entrada (784 = 28 × 28 para MNIST aplanado) y número de clases.
    momentum, epsilon:
        Argumentos de ``BatchNormalization``; los valores por defecto son los de Keras
        (``momentum=0.99``, ``epsilon=1e-3``).
    seed:
        Con un entero, los pesos iniciales de las capas densas quedan fijados por él: dos
        llamadas con la misma semilla dan los mismos pesos, **con o sin BN** y con BN antes o
        después (las capas densas tienen las mismas formas, salvo el sesgo si se quita). Con
        ``None``, los inicializadores de Keras usan su generador global.
    name:
        Nombre del modelo; por defecto, uno que describe las opciones (``"mlp_bn_before"``,
        ``"mlp_renorm_before"``).
    renorm, renorm_clipping, renorm_momentum:
        Con ``renorm=True``, cada capa BN es una renormalización por lotes (Ioffe, 2017):
        ``BatchNormalization(renorm=True, renorm_clipping=..., renorm_momentum=...)``. El
        diccionario de límites (claves ``"rmin"``, ``"rmax"``, ``"dmax"``) puede ser el de una
        :class:`bncourse.keras.RenormSchedule`, que los hace evolucionar durante el
        entrenamiento. Los pesos iniciales de las capas densas son los mismos que sin
        renormalización con la misma ``seed``.

    Devuelve
    --------
    Un ``keras.Sequential`` sin compilar (:func:`bncourse.keras.fit` lo compila).
    """
    batchnorm = check_bool(batchnorm, "batchnorm")
    position = check_choice(position, "position", BN_POSITIONS)
    use_bias = check_bool(use_bias, "use_bias")
    hidden = _hidden_sizes(hidden_units)
    activation = check_choice(activation, "activation", ACTIVATIONS)
    input_dim = check_int(input_dim, "input_dim", minimum=1, maximum=10_000_000)
    num_classes = check_int(num_classes, "num_classes", minimum=2, maximum=100_000)
    momentum = check_float(momentum, "momentum", minimum=0.0, maximum=1.0)
    epsilon = check_float(epsilon, "epsilon", minimum=0.0, strict_minimum=True)
    if seed is not None:
        seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    renorm = check_bool(renorm, "renorm")
    renorm_momentum = check_float(renorm_momentum, "renorm_momentum", minimum=0.0, maximum=1.0)
    if renorm and not batchnorm:
        raise ValueError("«renorm=True» necesita «batchnorm=True»: renormaliza las capas BN.")
    if renorm_clipping is not None:
        if not renorm:
            raise ValueError("«renorm_clipping» solo tiene sentido con «renorm=True».")
        if not isinstance(renorm_clipping, Mapping) or set(renorm_clipping) - {
            "rmin", "rmax", "dmax"
        }:
            raise ValueError(
                "«renorm_clipping» debe ser un diccionario con las claves «rmin», «rmax» y/o "
                f"«dmax»; se recibió {describe(renorm_clipping)}."
            )
    bn_kwargs: dict[str, Any] = {"momentum": momentum, "epsilon": epsilon}
    if renorm:
        bn_kwargs.update(
            renorm=True,
            renorm_clipping=dict(renorm_clipping) if renorm_clipping is not None else None,
            renorm_momentum=renorm_momentum,
        )
    if name is None:
        kind = "renorm" if renorm else "bn"
        name = "mlp" + (f"_{kind}_{position}" if batchnorm else "_no_bn")
        name += "" if use_bias else "_no_bias"
    elif not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            "«name» debe ser un identificador sin espacios (letras, cifras y guiones bajos); "
            f"se recibió {describe(name)}."
        )

    # Una semilla independiente para cada capa densa, derivada de «seed».
    if seed is None:
        layer_seeds: list[int | None] = [None] * (len(hidden) + 1)
    else:
        rng = np.random.default_rng(seed)
        layer_seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=len(hidden) + 1)]

    def kernel_init(i: int) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=layer_seeds[i])

    stack: list[keras.layers.Layer] = [keras.Input(shape=(input_dim,), name="pixels")]
    for i, units in enumerate(hidden, start=1):
        dense = layers.Dense(
            units, use_bias=use_bias, kernel_initializer=kernel_init(i - 1), name=f"dense_{i}"
        )
        act = layers.Activation(activation, name=f"{activation}_{i}")
        if not batchnorm:
            stack += [dense, act]
            continue
        bn = layers.BatchNormalization(**bn_kwargs, name=f"bn_{i}")
        stack += [dense, bn, act] if position == "before" else [dense, act, bn]
    stack.append(
        layers.Dense(
            num_classes,
            activation="softmax",
            kernel_initializer=kernel_init(len(hidden)),
            name="output",
        )
    )
    return keras.Sequential(stack, name=name)
