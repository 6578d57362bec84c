"""Los cargadores :func:`load_mnist` y :func:`load_cifar10` y la caché ``.npz`` que escriben.

Véase :mod:`bncourse.data` para el orden en que se buscan los datos y qué se verifica.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .._checks import check_bool, describe
from . import download as _download
from .cache import dataset_lock, write_new_file
from .formats import READ_ERRORS, read_cifar_tar, read_idx
from .integrity import ENV_VAR, Archive, DataError, verify_archive

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "MNIST_CLASSES",
    "MNIST_MEAN",
    "MNIST_STD",
    "default_data_dir",
    "load_cifar10",
    "load_mnist",
]

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``(x_train, y_train), (x_test, y_test)``, lo que devuelven los cargadores."""

MNIST_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
"""Nombres de las clases de MNIST (los dígitos del 0 al 9)."""

CIFAR10_CLASSES: tuple[str, ...] = (
    "avión",
    "automóvil",
    "pájaro",
    "gato",
    "ciervo",
    "perro",
    "rana",
    "caballo",
    "barco",
    "camión",
)
"""Nombres en español de las diez clases de CIFAR-10, en el orden oficial de sus etiquetas."""


MNIST_MEAN: tuple[float, ...] = (0.1307,)
"""Media de los píxeles de entrenamiento de MNIST, escalados a [0, 1]."""
MNIST_STD: tuple[float, ...] = (0.3081,)
"""Desviación típica de los píxeles de entrenamiento de MNIST, escalados a [0, 1]."""
CIFAR10_MEAN: tuple[float, ...] = (0.4914, 0.4822, 0.4465)
"""Media por canal (R, G, B) de las imágenes de entrenamiento oficiales de CIFAR-10 en [0, 1]."""
CIFAR10_STD: tuple[float, ...] = (0.2470, 0.2435, 0.2616)
"""Desviación típica por canal (R, G, B) del entrenamiento oficial de CIFAR-10 en [0, 1]."""


_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_MNIST_ARCHIVES = {
    "x_train": Archive(
        "train-images-idx3-ubyte.gz",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    "y_train": Archive(
        "train-labels-idx1-ubyte.gz",
        "d53e105ee54ea40749a09fcbcd1e9432",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    "x_test": Archive(
        "t10k-images-idx3-ubyte.gz",
        "9fb629c4189551a2d022fa330f9573f3",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    "y_test": Archive(
        "t10k-labels-idx1-ubyte.gz",
        "ec29112dd5afa0611ce80d1b7f02629c",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
}
_CIFAR_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
# MD5: la que publica la página de CIFAR-10 y usa torchvision (torchvision/datasets/cifar.py,
# tgz_md5). SHA-256: la de Keras 3.15.1, la versión fijada del curso
# (keras/src/datasets/cifar10.py, file_hash de la misma URL), que coincide con la de
# tensorflow/tensorflow (tensorflow/python/keras/datasets/cifar10.py). No hay aquí una copia
# del archivo oficial con la que calcularla; las dos se verifican antes de abrirlo.
_CIFAR_ARCHIVE = Archive(
    "cifar-10-python.tar.gz",
    "c58f30108f718f92721af3b95e74349a",
    "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
)


@dataclass(frozen=True)
class _Spec:
    name: str
    npz: str
    image_shape: tuple[int, ...]
    num_classes: int


_SPECS = {
    "mnist": _Spec("MNIST", "mnist.npz", (28, 28), 10),
    "cifar10": _Spec("CIFAR-10", "cifar10.npz", (32, 32, 3), 10),
}

_KEYS = ("x_train", "y_train", "x_test", "y_test")

# Errores que puede dar la lectura de un .npz dañado.
_NPZ_ERRORS = (*READ_ERRORS, zipfile.BadZipFile)

_HOW_TO_PROVIDE = (
    "Para resolverlo: (a) conéctese a internet y vuelva a llamar a la función para que descargue "
    "los archivos oficiales; o (b) copie {npz} (claves x_train, y_train, x_test, y_test) o los "
    "archivos oficiales en esa carpeta; o (c) indique otra carpeta con el argumento data_dir o "
    f"con la variable de entorno {ENV_VAR}."
)


# ---------------------------------------------------------------------------------------------
# Carpeta de datos
# ---------------------------------------------------------------------------------------------


def default_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Devuelve la carpeta de datos que usarán los cargadores.

    Orden: el argumento ``data_dir``; si es ``None``, la variable ``BNCOURSE_DATA_DIR``; si
    tampoco está definida, ``$XDG_CACHE_HOME/bncourse`` (o ``~/.cache/bncourse``).
    """
    if data_dir is not None:
        if not isinstance(data_dir, str | os.PathLike):
            raise TypeError(
                f"«data_dir» debe ser una ruta (str o pathlib.Path) o None; se recibió "
                f"{describe(data_dir)}."
            )
        if str(data_dir) == "":
            raise ValueError("«data_dir» no puede ser una cadena vacía.")
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    if not cache or not os.path.isabs(cache):  # la especificación XDG ignora rutas relativas
        cache = str(Path.home() / ".cache")
    return Path(cache) / "bncourse"


def _validate(
    arrays: dict[str, np.ndarray], dataset: str, source: Path | Mapping[str, Path]
) -> dict[str, np.ndarray]:
    """Comprueba formas, tipo y rango de etiquetas; devuelve etiquetas como vectores uint8.

    ``source`` es el archivo del que salen los arreglos, o un diccionario clave -> archivo cuando
    cada arreglo viene de un archivo distinto (MNIST), para que el error nombre el culpable.
    """
    spec = _SPECS[dataset]
    image_shape = spec.image_shape
    expected = "(N, " + ", ".join(str(s) for s in image_shape) + ")"
    out = {}
    for split in ("train", "test"):
        x = arrays[f"x_{split}"]
        y = arrays[f"y_{split}"]
        x_src, y_src = (
            (source[f"x_{split}"], source[f"y_{split}"])
            if isinstance(source, Mapping)
            else (source, source)
        )
        if x.dtype != np.uint8:
            raise DataError(
                f"{x_src}: «x_{split}» es de tipo {x.dtype}; se esperaba uint8 (valores 0-255)."
            )
        if x.ndim != 1 + len(image_shape) or x.shape[1:] != image_shape:
            raise DataError(f"{x_src}: «x_{split}» tiene forma {x.shape}; se esperaba {expected}.")
        if len(x) == 0:
            raise DataError(f"{x_src}: «x_{split}» está vacío; se esperaba al menos una imagen.")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(
                f"{y_src}: «y_{split}» tiene forma {y.shape}; se esperaba ({len(x)},), una "
                "etiqueta por imagen."
            )
        if not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{y_src}: «y_{split}» es de tipo {y.dtype}; se esperaban enteros.")
        if y.min() < 0 or y.max() >= spec.num_classes:
            raise DataError(
                f"{y_src}: «y_{split}» contiene etiquetas entre {y.min()} y {y.max()}; se "
                f"esperaban enteros entre 0 y {spec.num_classes - 1}."
            )
        out[f"x_{split}"] = x
        out[f"y_{split}"] = y.astype(np.uint8)
    return out


def _read_npz(path: Path, dataset: str) -> dict[str, np.ndarray]:
    keys = _KEYS
    advice = (
        f"no se ha borrado: sustitúyalo por una copia correcta o apunte {ENV_VAR} a otra carpeta."
    )
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(
                f"No se pudo leer {path}: contiene un único arreglo (formato .npy), no un .npz "
                f"con las claves {', '.join(keys)}; {advice}"
            )
        with loaded as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(
                    f"{path} no contiene las claves {', '.join(missing)}; se esperaban "
                    f"{', '.join(keys)}. El archivo {advice}"
                )
            arrays = {k: npz[k] for k in keys}
    except DataError:
        raise
    except _NPZ_ERRORS as exc:
        raise DataError(
            f"No se pudo leer {path}: {exc}. El archivo está dañado o no es un .npz; {advice}"
        ) from exc
    return _validate(arrays, dataset, path)


def _save_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    # Sin comprimir: leer cifar10.npz comprimido cuesta mucho más (mediana de 0.73 s frente a
    # 0.054 s en 7 lecturas en la máquina del curso, 2 núcleos compartidos; 1.87 s frente a
    # 0.53 s en 9 lecturas con la máquina más cargada) y ocupa casi lo mismo (171 MB frente a
    # 184 MB), porque las imágenes reales apenas se comprimen. Lo mide
    # tools/benchmarks/bench_npz_cache.py (también en make bench).
    def write(fh: BinaryIO) -> None:
        np.savez(
            fh,
            x_train=arrays["x_train"],
            y_train=arrays["y_train"],
            x_test=arrays["x_test"],
            y_test=arrays["y_test"],
        )

    write_new_file(path, write)


def _split(arrays: Mapping[str, np.ndarray]) -> Split:
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


# Lo que describe los archivos oficiales de un conjunto en una carpeta: clave -> (ruta, archivo,
# réplicas), y la función que lee los arreglos de esas rutas ya verificadas.
Sources = Mapping[str, tuple[Path, Archive, tuple[str, ...]]]
Builders = Callable[[Path], tuple[Sources, Callable[[dict[str, Path]], dict[str, np.ndarray]]]]


def _looked_in(looked: list[Path]) -> str:
    return "Se buscó en:\n  " + "\n  ".join(str(p) for p in looked)


def _load(
    dataset: str, data_dir: str | os.PathLike[str] | None, download: bool, builders: Builders
) -> Split:
    check_bool(download, "download")
    root = default_data_dir(data_dir)
    spec = _SPECS[dataset]
    if root.exists() and not root.is_dir():
        raise DataError(
            f"La carpeta de datos {root} no es una carpeta, sino un archivo. Indique una carpeta "
            f"con el argumento data_dir o con la variable de entorno {ENV_VAR}."
        )
    npz_path = root / spec.npz
    if npz_path.is_file():
        return _split(_read_npz(npz_path, dataset))

    sources, build = builders(root)
    paths = {key: path for key, (path, _, _) in sources.items()}
    looked = [npz_path, *dict.fromkeys(paths.values())]
    how_to = _HOW_TO_PROVIDE.format(npz=spec.npz)
    if all(path.is_file() for path in paths.values()):
        return _split(_build_and_cache(dataset, sources, build, npz_path))
    if not download:
        raise DataError(
            f"No se encontraron los datos de {spec.name}. {_looked_in(looked)}\n{how_to}"
        )
    # Un cerrojo por conjunto: si otro proceso ya lo está descargando, se espera y se lee lo
    # que deja en la caché en lugar de descargarlo otra vez.
    with dataset_lock(root / f".{spec.npz}.lock", spec.name):
        if npz_path.is_file():
            return _split(_read_npz(npz_path, dataset))
        for path, archive, mirrors in sources.values():
            if path.is_file():  # ya estaba, o varias claves comparten archivo (CIFAR-10)
                continue
            try:
                _download.download(archive, mirrors, path)
            except _download.LocalWriteError as exc:
                raise _download.LocalWriteError(
                    f"No se encontraron los datos de {spec.name} y no se pudieron guardar en "
                    f"{root}.\n{exc}\nLibere espacio o corrija los permisos, o indique otra "
                    f"carpeta con el argumento data_dir o con la variable de entorno {ENV_VAR}."
                ) from exc
            except DataError as exc:
                raise DataError(
                    f"No se encontraron los datos de {spec.name} y no se pudieron descargar. "
                    f"{_looked_in(looked)}\n{exc}\n{how_to}"
                ) from exc
        return _split(_build_and_cache(dataset, sources, build, npz_path))


def _build_and_cache(
    dataset: str,
    sources: Sources,
    build: Callable[[dict[str, Path]], dict[str, np.ndarray]],
    npz_path: Path,
) -> dict[str, np.ndarray]:
    # Verificar (otra vez, si se acaba de descargar) antes de descomprimir o deserializar nada.
    for path, archive in {path: archive for path, archive, _ in sources.values()}.items():
        verify_archive(path, archive)
    paths = {key: path for key, (path, _, _) in sources.items()}
    arrays = _validate(build(paths), dataset, paths)
    try:
        _save_npz(npz_path, arrays)
    except OSError:
        pass  # carpeta de solo lectura o llena: los datos se devuelven igualmente, sin caché
    return arrays


def load_mnist(data_dir: str | os.PathLike[str] | None = None, *, download: bool = True) -> Split:
    """Carga MNIST real: 60 000 imágenes de entrenamiento y 10 000 de prueba.

    Parámetros
    ----------
    data_dir:
        Carpeta de datos; si es ``None`` se usa ``BNCOURSE_DATA_DIR`` o la caché por usuario
        (véase :func:`default_data_dir`).
    download:
        Si es ``True`` y faltan los datos, descarga los cuatro archivos oficiales a
        ``data_dir/MNIST/raw/``, verifica sus sumas MD5 y SHA-256 y guarda ``mnist.npz``.

    Devuelve
    --------
    ``(x_train, y_train), (x_test, y_test)``: imágenes ``uint8`` de forma ``(N, 28, 28)`` y
    etiquetas ``uint8`` de forma ``(N,)`` con valores 0-9.

    Errores
    -------
    :class:`DataError` si faltan los datos y no se pueden descargar, o si un archivo no supera
    la validación (el mensaje nombra el archivo y cómo resolverlo).
    """

    def builders(root: Path) -> tuple[Sources, Callable[[dict[str, Path]], dict[str, np.ndarray]]]:
        raw = root / "MNIST" / "raw"
        sources = {key: (raw / a.filename, a, _MNIST_MIRRORS) for key, a in _MNIST_ARCHIVES.items()}

        def build(paths: dict[str, Path]) -> dict[str, np.ndarray]:
            return {
                key: read_idx(path, 3 if key.startswith("x") else 1) for key, path in paths.items()
            }

        return sources, build

    return _load("mnist", data_dir, download, builders)


def load_cifar10(data_dir: str | os.PathLike[str] | None = None, *, download: bool = True) -> Split:
    """Carga CIFAR-10 real: 50 000 imágenes en color de entrenamiento y 10 000 de prueba.

    Parámetros
    ----------
    data_dir:
        Carpeta de datos; si es ``None`` se usa ``BNCOURSE_DATA_DIR`` o la caché por usuario.
    download:
        Si es ``True`` y faltan los datos, descarga ``cifar-10-python.tar.gz`` (versión
        oficial para Python), verifica sus sumas MD5 y SHA-256 publicadas antes de abrirlo y
        guarda ``cifar10.npz``. Sus lotes se leen con un deserializador restringido que solo
        admite arreglos numéricos (véase :mod:`bncourse.data.formats`).

    Devuelve
    --------
    ``(x_train, y_train), (x_test, y_test)``: imágenes ``uint8`` RGB de forma
    ``(N, 32, 32, 3)`` y etiquetas ``uint8`` de forma ``(N,)``; los nombres de las clases están
    en :data:`CIFAR10_CLASSES`.
    """

    def builders(root: Path) -> tuple[Sources, Callable[[dict[str, Path]], dict[str, np.ndarray]]]:
        path = root / _CIFAR_ARCHIVE.filename
        # Los cuatro arreglos salen del mismo archivo (se descarga y se verifica una sola vez).
        sources = {key: (path, _CIFAR_ARCHIVE, _CIFAR_MIRRORS) for key in _KEYS}
        return sources, lambda paths: read_cifar_tar(paths["x_train"])

    return _load("cifar10", data_dir, download, builders)
