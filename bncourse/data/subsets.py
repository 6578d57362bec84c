"""Subconjuntos estratificados y deterministas: las mismas proporciones de cada clase."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from .._checks import check_array, check_int

__all__ = ["load_subsets", "stratified_indices", "stratified_subset"]

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def stratified_indices(labels: np.ndarray, size: int, *, seed: int = 0) -> np.ndarray:
    """Índices de un subconjunto estratificado y determinista de ``labels``.

    Cada clase recibe una parte proporcional a su frecuencia (reparto por restos mayores), de
    modo que las proporciones del subconjunto reproducen las del conjunto completo. Con la misma
    semilla se obtienen siempre los mismos índices, devueltos en orden creciente.

    Parámetros
    ----------
    labels:
        Vector de etiquetas enteras no negativas, forma ``(N,)``.
    size:
        Número de ejemplos del subconjunto, entre 1 y ``N``.
    seed:
        Semilla del generador de NumPy que elige los ejemplos de cada clase.
    """
    labels = check_array(labels, "labels", ndim=1, dtype=np.integer)
    if labels.size == 0:
        raise ValueError("«labels» está vacío; se esperaba al menos una etiqueta.")
    size = check_int(size, "size", minimum=1, maximum=len(labels))
    seed = check_int(seed, "seed", minimum=0)
    if labels.min() < 0:
        raise ValueError(
            f"«labels» debe contener etiquetas enteras no negativas; la menor es {labels.min()}."
        )
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * size / len(labels)
    quota = np.floor(exact).astype(int)
    remainder = size - quota.sum()
    order = np.lexsort((classes, -(exact - quota)))  # mayores restos primero; empate por clase
    quota[order[:remainder]] += 1
    rng = np.random.default_rng(seed)
    chosen = [
        rng.choice(np.flatnonzero(labels == c), size=q, replace=False)
        for c, q in zip(classes, quota, strict=True)
        if q > 0
    ]
    return np.sort(np.concatenate(chosen))


def stratified_subset(
    x: np.ndarray, y: np.ndarray, size: int, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Subconjunto estratificado y determinista ``(x[idx], y[idx])`` de tamaño ``size``.

    Véase :func:`stratified_indices`.
    """
    x = check_array(x, "x")
    if x.ndim == 0:
        raise ValueError(
            "«x» debe tener al menos una dimensión (un ejemplo por fila); es un escalar."
        )
    y = check_array(y, "y", ndim=1, dtype=np.integer)
    if len(x) != len(y):
        raise ValueError(
            f"«x» e «y» deben tener el mismo número de ejemplos; tienen {len(x)} y {len(y)}."
        )
    idx = stratified_indices(y, size, seed=seed)
    return x[idx], y[idx]


def load_subsets(
    loader: Callable[..., Split],
    train_size: int | None = None,
    test_size: int | None = None,
    *,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    minimum: int = 10,
) -> Split:
    """Carga un conjunto con ``loader`` y toma un subconjunto estratificado de cada parte.

    Parámetros
    ----------
    loader:
        :func:`bncourse.load_mnist`, :func:`bncourse.load_cifar10` o una función con su firma.
    train_size, test_size:
        Tamaño de cada subconjunto (entre ``minimum`` y el de la parte), o ``None`` para usar
        la parte entera.
    seed:
        Semilla de los subconjuntos (la misma para las dos partes).
    data_dir:
        Carpeta de datos que se pasa a ``loader``.

    Los tamaños se comprueban antes de leer nada: un valor mal escrito falla al instante.
    """
    seed = check_int(seed, "seed", minimum=0)
    for name, size in (("train_size", train_size), ("test_size", test_size)):
        if size is not None:
            check_int(size, name, minimum=minimum)
    (x_train, y_train), (x_test, y_test) = loader(data_dir)
    if train_size is not None:
        train_size = check_int(train_size, "train_size", minimum=minimum, maximum=len(y_train))
        x_train, y_train = stratified_subset(x_train, y_train, train_size, seed=seed)
    if test_size is not None:
        test_size = check_int(test_size, "test_size", minimum=minimum, maximum=len(y_test))
        x_test, y_test = stratified_subset(x_test, y_test, test_size, seed=seed)
    return (x_train, y_train), (x_test, y_test)
