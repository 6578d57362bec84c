"""Semillas y determinismo: una semilla por capítulo, leída de ``BNCOURSE_SEED``.

Cada capítulo lee su semilla en la primera celda de código con :func:`chapter_seed` y deriva de
ella todas sus decisiones aleatorias (subconjuntos, pesos iniciales, orden de los minilotes,
ruido) con :func:`derive_seed`, de modo que un lector que ejecute el capítulo con otra semilla
(``BNCOURSE_SEED=1``) repita todos los experimentos con otro azar. ``make seeds`` lo hace con
varias semillas, y :func:`record_figure` guarda las cifras que cita el texto para resumir su
dispersión entre semillas.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os
import random
import sys
from pathlib import Path

import numpy as np

from ._checks import check_bool, check_int, describe

__all__ = [
    "FIGURES_ENV",
    "MAX_SEED",
    "SEED_ENV",
    "chapter_seed",
    "derive_seed",
    "record_figure",
    "seed_everything",
]

#: Variable de entorno con la semilla de cada capítulo.
SEED_ENV = "BNCOURSE_SEED"
#: Variable de entorno con la carpeta donde :func:`record_figure` guarda las cifras.
FIGURES_ENV = "BNCOURSE_FIGURES_DIR"
#: Mayor semilla admitida (la que aceptan NumPy, PyTorch y TensorFlow).
MAX_SEED = 2**32 - 1


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
    seed = check_int(seed, "seed", minimum=0, maximum=MAX_SEED)
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


def _parse_seed(text: str) -> int:
    """Convierte el texto de ``BNCOURSE_SEED`` en una semilla o lanza un error en español."""
    stripped = text.strip()
    if not stripped.isascii() or not stripped.isdigit():
        raise ValueError(
            f"La variable de entorno {SEED_ENV} debe ser un número entero no negativo "
            f"(por ejemplo, {SEED_ENV}=1), entre 0 y {MAX_SEED}; contiene {text!r}. "
            f"Corríjala o elimínela para usar la semilla 0."
        )
    seed = int(stripped)
    if seed > MAX_SEED:
        raise ValueError(
            f"La variable de entorno {SEED_ENV} debe estar entre 0 y {MAX_SEED}; contiene {seed}."
        )
    return seed


def chapter_seed(default: int = 0, *, apply: bool = True) -> int:
    """Devuelve la semilla del capítulo: la de ``BNCOURSE_SEED`` o, si no existe, ``default``.

    Es lo primero que hace cada capítulo. Un valor que no sea un entero entre 0 y 2**32 - 1
    detiene el capítulo con un ``ValueError`` que dice qué se esperaba.

    Parámetros
    ----------
    default:
        Semilla cuando la variable no existe o está vacía (0 en todos los capítulos).
    apply:
        Si es ``True`` (por defecto), llama además a :func:`seed_everything` con ella.

    Devuelve
    --------
    La semilla, un entero no negativo.
    """
    default = check_int(default, "default", minimum=0, maximum=MAX_SEED)
    apply = check_bool(apply, "apply")
    text = os.environ.get(SEED_ENV, "")
    seed = default if not text.strip() else _parse_seed(text)
    if apply:
        seed_everything(seed)
    return seed


def derive_seed(seed: int, *keys: str | int) -> int:
    """Deriva de ``seed`` una semilla distinta para cada uso, estable entre máquinas y versiones.

    ``derive_seed(SEED, "subconjunto")`` y ``derive_seed(SEED, "pesos", 3)`` dan semillas
    independientes entre sí y distintas para cada ``SEED``. No usa ``hash()`` (que cambia con
    ``PYTHONHASHSEED``), sino SHA-256 del texto de los argumentos.

    Parámetros
    ----------
    seed:
        La semilla del capítulo (entero entre 0 y 2**32 - 1).
    keys:
        Uno o más textos o enteros que nombran el uso.

    Devuelve
    --------
    Un entero entre 0 y 2**31 - 1 (válido en NumPy, PyTorch y TensorFlow).
    """
    seed = check_int(seed, "seed", minimum=0, maximum=MAX_SEED)
    if not keys:
        raise ValueError("derive_seed necesita al menos un nombre de uso, p. ej. «pesos».")
    for key in keys:
        if isinstance(key, bool) or not isinstance(key, str | numbers.Integral):
            raise TypeError(
                f"Cada nombre de uso de derive_seed debe ser un texto o un entero; se recibió "
                f"{describe(key)}."
            )
    text = "\x1f".join([str(seed), *(str(k) for k in keys)])
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") % 2**31


def record_figure(chapter: str, name: str, value: float, *, seed: int) -> float:
    """Anota una cifra que cita el texto, para resumir después su dispersión entre semillas.

    Si la variable ``BNCOURSE_FIGURES_DIR`` nombra una carpeta (``make notebooks`` y ``make
    seeds`` la ponen en ``_build/seeds``), añade la cifra a ``<capítulo>-semilla<seed>.json``
    en esa carpeta; ``python tools/seed_table.py`` resume después el mínimo y el máximo de cada
    cifra. Sin esa variable no hace nada. Nunca imprime nada.

    Devuelve
    --------
    ``value`` como ``float``, para poder escribir ``acc = record_figure(...)``.
    """
    if not isinstance(chapter, str) or not chapter.strip():
        raise ValueError(f"«chapter» debe ser un texto no vacío; se recibió {describe(chapter)}.")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"«name» debe ser un texto no vacío; se recibió {describe(name)}.")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"«value» debe ser un número real; se recibió {describe(value)}.")
    seed = check_int(seed, "seed", minimum=0, maximum=MAX_SEED)
    value = float(value)
    folder = os.environ.get(FIGURES_ENV, "").strip()
    if folder:
        path = Path(folder) / f"{chapter}-semilla{seed}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        data[name] = value
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    return value
