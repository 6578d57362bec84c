"""Semillas y determinismo para que cada capítulo dé los mismos resultados en cada ejecución."""

from __future__ import annotations

import os
import random
import sys

import numpy as np

from ._checks import check_bool, check_int

__all__ = ["seed_everything"]


def seed_everything(seed: int, *, deterministic: bool = True) -> int:
    """Fija la semilla de ``random``, NumPy y, si ya están importados, PyTorch y TensorFlow.

    También exporta ``PYTHONHASHSEED`` para los subprocesos que se lancen después (el proceso
    actual ya fijó el suyo al arrancar; el Makefile lo pone a 0).

    No importa PyTorch ni TensorFlow: solo actúa sobre los que el proceso ya ha cargado, de
    modo que un capítulo de Keras no carga PyTorch ni al revés. Llámela después de importar el
    marco de trabajo del capítulo.

    Parámetros
    ----------
    seed:
        Entero entre 0 y 2**32 - 1.
    deterministic:
        Si es ``True`` (por defecto), pide algoritmos deterministas: en PyTorch
        ``torch.use_deterministic_algorithms(True, warn_only=True)`` y cuDNN sin búsqueda de
        algoritmos; en TensorFlow ``enable_op_determinism()``.

    Devuelve
    --------
    La semilla, para poder registrarla.
    """
    seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
    deterministic = check_bool(deterministic, "deterministic")
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (el estado global es lo que hay que fijar)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)
        if deterministic and "tensorflow" in sys.modules:
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
    return seed
