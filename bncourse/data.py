"""Carga de MNIST y CIFAR-10 reales, con comprobación de integridad.

Las funciones públicas devuelven ``(x_train, y_train), (x_test, y_test)`` como arreglos
``uint8`` con la disposición de Keras: imágenes ``(N, 28, 28)`` para MNIST y
``(N, 32, 32, 3)`` (canales al final) para CIFAR-10, y etiquetas ``(N,)``.

Dónde se buscan los datos, por orden:

1. el argumento ``data_dir``;
2. la variable de entorno ``BNCOURSE_DATA_DIR``;
3. una caché por usuario (``$XDG_CACHE_HOME/bncourse`` o ``~/.cache/bncourse``).

En esa carpeta se lee primero ``mnist.npz`` / ``cifar10.npz`` (claves ``x_train, y_train,
x_test, y_test``). Si no están, se usan los archivos oficiales (``MNIST/raw/*.gz`` o
``cifar-10-python.tar.gz``, la misma disposición que usa ``torchvision``) y, si tampoco
están, se descargan. La suma de comprobación publicada de cada archivo se verifica **antes**
de descomprimir o deserializar nada, y los arreglos se guardan en la caché de forma atómica
(archivo temporal y después renombrado). Ningún archivo del usuario se borra ni se
sobrescribe: un archivo que no pasa la validación se informa con un error que dice cuál es y
cómo resolverlo.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.client
import io
import os
import pickle
import tarfile
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._checks import check_array, check_bool, check_int, describe

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "MNIST_CLASSES",
    "MNIST_MEAN",
    "MNIST_STD",
    "DataError",
    "default_data_dir",
    "load_cifar10",
    "load_mnist",
    "stratified_indices",
    "stratified_subset",
]

ENV_VAR = "BNCOURSE_DATA_DIR"

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


class DataError(RuntimeError):
    """Un conjunto de datos falta, está incompleto o no supera la validación."""


@dataclass(frozen=True)
class _Archive:
    filename: str
    md5: str
    sha256: str | None = None


_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_MNIST_ARCHIVES = {
    "x_train": _Archive(
        "train-images-idx3-ubyte.gz",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    "y_train": _Archive(
        "train-labels-idx1-ubyte.gz",
        "d53e105ee54ea40749a09fcbcd1e9432",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    "x_test": _Archive(
        "t10k-images-idx3-ubyte.gz",
        "9fb629c4189551a2d022fa330f9573f3",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    "y_test": _Archive(
        "t10k-labels-idx1-ubyte.gz",
        "ec29112dd5afa0611ce80d1b7f02629c",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
}
_CIFAR_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
_CIFAR_ARCHIVE = _Archive("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")

_SPECS = {
    "mnist": {"name": "MNIST", "npz": "mnist.npz", "image_shape": (28, 28), "num_classes": 10},
    "cifar10": {
        "name": "CIFAR-10",
        "npz": "cifar10.npz",
        "image_shape": (32, 32, 3),
        "num_classes": 10,
    },
}

_KEYS = ("x_train", "y_train", "x_test", "y_test")

# Errores que puede dar la lectura de un archivo dañado (además de los de E/S).
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    OverflowError,
    zipfile.BadZipFile,
    zlib.error,
    tarfile.TarError,
    pickle.UnpicklingError,
)
# Errores de una descarga fallida o cortada.
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError, ValueError)

# Punto de entrada de la red; las pruebas lo sustituyen para trabajar sin conexión.
_urlopen: Callable[..., object] = urllib.request.urlopen

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


# ---------------------------------------------------------------------------------------------
# Integridad y escritura atómica
# ---------------------------------------------------------------------------------------------


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checksum_mismatch(path: Path, archive: _Archive) -> str | None:
    """Describe en qué difiere la suma de ``path`` de la publicada; ``None`` si coincide.

    Solo lee los bytes del archivo: no lo descomprime ni lo deserializa.
    """
    checks = [("md5", archive.md5)] + ([("sha256", archive.sha256)] if archive.sha256 else [])
    for algorithm, expected in checks:
        got = _digest(path, algorithm)
        if got != expected:
            return f"{algorithm} esperado {expected}, obtenido {got}"
    return None


def _verify_archive(path: Path, archive: _Archive) -> None:
    """Verifica la suma publicada de un archivo ya presente; no lo abre de ninguna otra forma."""
    try:
        mismatch = _checksum_mismatch(path, archive)
    except OSError as exc:
        raise DataError(
            f"No se pudo leer {path}: {exc}. Compruebe que es un archivo legible o sustitúyalo "
            "por una copia correcta."
        ) from exc
    if mismatch is not None:
        raise DataError(
            f"El archivo {path} no tiene la suma de comprobación publicada ({mismatch}): está "
            "incompleto o dañado. No se ha borrado; muévalo o bórrelo usted y vuelva a "
            f"descargarlo, o apunte {ENV_VAR} a una carpeta con una copia correcta."
        )


def _file_mode() -> int:
    """Permisos de un archivo nuevo según la umask del proceso (``0o644`` si no se puede leer)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o644


def _write_new_file(
    path: Path,
    write: Callable[[io.BufferedWriter], None],
    verify: Callable[[Path], None] | None = None,
) -> None:
    """Escribe ``path`` de forma atómica sin sobrescribir nunca un archivo existente.

    Se escribe en un temporal de la misma carpeta y se enlaza con el nombre final; si ya existe
    un archivo con ese nombre (por ejemplo, de otro proceso), se conserva el existente.
    ``verify`` recibe la ruta del temporal ya completo y puede rechazarlo lanzando una excepción;
    el temporal se borra siempre, también si la escritura se interrumpe.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if verify is not None:
            verify(tmp)
        os.chmod(tmp, _file_mode())  # mkstemp crea el temporal con permisos 0600
        try:
            os.link(tmp, path)  # atómico y falla si el destino ya existe: nunca sobrescribe
        except FileExistsError:
            pass
        except OSError as exc:
            # Sistemas de archivos sin enlaces duros (FAT, algunos montajes de red): renombrar
            # también es atómico, pero reemplazaría un destino existente, así que se comprueba
            # antes que no exista.
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
                raise
            if not os.path.lexists(path):
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _download(archive: _Archive, mirrors: tuple[str, ...], target: Path) -> None:
    """Descarga ``archive`` a ``target`` con barra de progreso y suma verificada."""
    with warnings.catch_warnings():
        # Sin ipywidgets, tqdm.auto avisa en Jupyter y usa la barra de texto: basta con esa.
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    errors = []
    for mirror in mirrors:
        url = mirror + archive.filename

        def write(fh: io.BufferedWriter, url: str = url) -> None:
            with _urlopen(url, timeout=60) as response:  # type: ignore[attr-defined]
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(
                    total=total, unit="B", unit_scale=True, desc=archive.filename, leave=False
                ) as bar:
                    for block in iter(lambda: response.read(1 << 16), b""):
                        fh.write(block)
                        bar.update(len(block))

        def verify(tmp: Path) -> None:
            mismatch = _checksum_mismatch(tmp, archive)
            if mismatch is not None:
                raise DataError(
                    f"la descarga no coincide con la suma publicada ({mismatch}); se ha "
                    "descartado sin abrirla"
                )

        try:
            _write_new_file(target, write, verify)
            return
        except (*_NETWORK_ERRORS, DataError) as exc:
            errors.append(f"{url}: {str(exc) or type(exc).__name__}")
    raise DataError(
        f"No se pudo descargar {archive.filename} desde ninguna réplica:\n  " + "\n  ".join(errors)
    )


# ---------------------------------------------------------------------------------------------
# Lectura de los formatos oficiales
# ---------------------------------------------------------------------------------------------


def _read_idx(path: Path, expected_ndim: int) -> np.ndarray:
    """Lee un archivo IDX comprimido con gzip (el formato oficial de MNIST)."""
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"No se pudo descomprimir {path}: {exc}. Sustituya el archivo por una copia correcta."
        ) from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{path} no es un archivo IDX de bytes sin signo (cabecera inválida).")
    ndim = data[3]
    if ndim != expected_ndim:
        found = "1 dimensión" if ndim == 1 else f"{ndim} dimensiones"
        expected = "se esperaba 1" if expected_ndim == 1 else f"se esperaban {expected_ndim}"
        raise DataError(f"{path} tiene {found} según su cabecera IDX; {expected}.")
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected_size = int(np.prod(shape))
    if len(data) - header != expected_size:
        raise DataError(
            f"{path} está truncado o dañado: la cabecera anuncia {expected_size} bytes de datos "
            f"y contiene {len(data) - header}."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Deserializador que solo admite los objetos de NumPy que contienen los lotes de CIFAR-10."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"objeto no permitido en un lote de CIFAR-10: {module}.{name}"
            )
        return super().find_class(module, name)


def _read_cifar_tar(path: Path) -> dict[str, np.ndarray]:
    names = [f"data_batch_{i}" for i in range(1, 6)]
    batches: dict[str, dict] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for name in [*names, "test_batch"]:
                if name not in members:
                    raise DataError(f"{path} no contiene el lote «{name}» de CIFAR-10.")
                fh = tar.extractfile(members[name])
                assert fh is not None
                batches[name] = _NumpyOnlyUnpickler(io.BytesIO(fh.read()), encoding="bytes").load()
    except DataError:
        raise
    except _READ_ERRORS as exc:
        raise DataError(
            f"No se pudo leer {path}: {exc}. Sustituya el archivo por una copia correcta."
        ) from exc

    def unpack(batch: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
        where = f"El lote «{name}» de {path}"
        if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
            raise DataError(
                f"{where} no tiene el formato oficial: se esperaba un diccionario con las claves "
                "b'data' y b'labels'."
            )
        data = batch[b"data"]
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
            raise DataError(
                f"{where} no tiene el formato oficial: b'data' debe ser un arreglo uint8; es "
                f"{describe(data)}."
            )
        try:
            labels = np.asarray(batch[b"labels"])
        except (TypeError, ValueError) as exc:
            raise DataError(f"{where} no tiene etiquetas legibles: {exc}.") from exc
        if labels.ndim != 1 or not (labels.size == 0 or np.issubdtype(labels.dtype, np.integer)):
            raise DataError(
                f"{where} no tiene el formato oficial: b'labels' debe ser una lista de etiquetas "
                f"enteras; es {describe(labels)}."
            )
        if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
            raise DataError(
                f"{where} tiene una forma inesperada: b'data' {data.shape} y {len(labels)} "
                "etiquetas; se esperaban (N, 3072) y N etiquetas."
            )
        # Formato oficial: filas de 3072 bytes, canal a canal (R, G, B), 32x32 cada uno.
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels.astype(np.int64)

    train = [unpack(batches[n], n) for n in names]
    x_test, y_test = unpack(batches["test_batch"], "test_batch")
    return {
        "x_train": np.concatenate([x for x, _ in train]),
        "y_train": np.concatenate([y for _, y in train]),
        "x_test": x_test,
        "y_test": y_test,
    }


def _validate(
    arrays: dict[str, np.ndarray], dataset: str, source: Path | Mapping[str, Path]
) -> dict[str, np.ndarray]:
    """Comprueba formas, tipo y rango de etiquetas; devuelve etiquetas como vectores uint8.

    ``source`` es el archivo del que salen los arreglos, o un diccionario clave -> archivo cuando
    cada arreglo viene de un archivo distinto (MNIST), para que el error nombre el culpable.
    """
    spec = _SPECS[dataset]
    image_shape = spec["image_shape"]
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
        if y.min() < 0 or y.max() >= spec["num_classes"]:
            raise DataError(
                f"{y_src}: «y_{split}» contiene etiquetas entre {y.min()} y {y.max()}; se "
                f"esperaban enteros entre 0 y {spec['num_classes'] - 1}."
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
    except _READ_ERRORS as exc:
        raise DataError(
            f"No se pudo leer {path}: {exc}. El archivo está dañado o no es un .npz; {advice}"
        ) from exc
    return _validate(arrays, dataset, path)


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    _write_new_file(path, lambda fh: np.savez_compressed(fh, **arrays))


def _split(arrays: dict[str, np.ndarray]):
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _load(dataset: str, data_dir, download: bool, builders) -> tuple:
    check_bool(download, "download")
    root = default_data_dir(data_dir)
    spec = _SPECS[dataset]
    if root.exists() and not root.is_dir():
        raise DataError(
            f"La carpeta de datos {root} no es una carpeta, sino un archivo. Indique una carpeta "
            f"con el argumento data_dir o con la variable de entorno {ENV_VAR}."
        )
    npz_path = root / spec["npz"]
    if npz_path.is_file():
        return _split(_read_npz(npz_path, dataset))

    looked = [npz_path]
    archives, build = builders(root)
    paths = {key: path for key, (path, _, _) in archives.items()}
    looked += list(dict.fromkeys(paths.values()))
    missing = [key for key, path in paths.items() if not path.is_file()]
    if missing and not download:
        raise DataError(
            f"No se encontraron los datos de {spec['name']}. Se buscó en:\n  "
            + "\n  ".join(str(p) for p in looked)
            + "\n"
            + _HOW_TO_PROVIDE.format(npz=spec["npz"])
        )
    for key in missing:
        path, archive, mirrors = archives[key]
        if path.is_file():  # varias claves pueden compartir archivo (CIFAR-10)
            continue
        try:
            _download(archive, mirrors, path)
        except DataError as exc:
            raise DataError(
                f"No se encontraron los datos de {spec['name']} y no se pudieron descargar. "
                "Se buscó en:\n  "
                + "\n  ".join(str(p) for p in looked)
                + f"\n{exc}\n"
                + _HOW_TO_PROVIDE.format(npz=spec["npz"])
            ) from exc
    # Verificar (otra vez, si se acaba de descargar) antes de descomprimir o deserializar nada.
    for path, archive in {path: archive for path, archive, _ in archives.values()}.items():
        _verify_archive(path, archive)
    arrays = _validate(build(paths), dataset, paths)
    try:
        _save_npz(npz_path, arrays)
    except OSError:
        pass  # carpeta de solo lectura: los datos se devuelven igualmente, sin caché
    return _split(arrays)


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None, *, download: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Carga MNIST real: 60 000 imágenes de entrenamiento y 10 000 de prueba.

    Parámetros
    ----------
    data_dir:
        Carpeta de datos; si es ``None`` se usa ``BNCOURSE_DATA_DIR`` o la caché por usuario
        (véase :func:`default_data_dir`).
    download:
        Si es ``True`` y faltan los datos, descarga los cuatro archivos oficiales a
        ``data_dir/MNIST/raw/``, verifica sus sumas y guarda ``mnist.npz``.

    Devuelve
    --------
    ``(x_train, y_train), (x_test, y_test)``: imágenes ``uint8`` de forma ``(N, 28, 28)`` y
    etiquetas ``uint8`` de forma ``(N,)`` con valores 0-9.

    Errores
    -------
    :class:`DataError` si faltan los datos y no se pueden descargar, o si un archivo no supera
    la validación (el mensaje nombra el archivo y cómo resolverlo).
    """

    def builders(root: Path):
        raw = root / "MNIST" / "raw"
        archives = {
            key: (raw / a.filename, a, _MNIST_MIRRORS) for key, a in _MNIST_ARCHIVES.items()
        }

        def build(paths):
            return {
                key: _read_idx(path, 3 if key.startswith("x") else 1) for key, path in paths.items()
            }

        return archives, build

    return _load("mnist", data_dir, download, builders)


def load_cifar10(
    data_dir: str | os.PathLike[str] | None = None, *, download: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Carga CIFAR-10 real: 50 000 imágenes en color de entrenamiento y 10 000 de prueba.

    Parámetros
    ----------
    data_dir:
        Carpeta de datos; si es ``None`` se usa ``BNCOURSE_DATA_DIR`` o la caché por usuario.
    download:
        Si es ``True`` y faltan los datos, descarga ``cifar-10-python.tar.gz`` (versión
        oficial para Python), verifica su MD5 publicado antes de abrirlo y guarda
        ``cifar10.npz``.

    Devuelve
    --------
    ``(x_train, y_train), (x_test, y_test)``: imágenes ``uint8`` RGB de forma
    ``(N, 32, 32, 3)`` y etiquetas ``uint8`` de forma ``(N,)``; los nombres de las clases están
    en :data:`CIFAR10_CLASSES`.
    """

    def builders(root: Path):
        path = root / _CIFAR_ARCHIVE.filename
        # Los cuatro arreglos salen del mismo archivo (se descarga y se verifica una sola vez).
        archives = {key: (path, _CIFAR_ARCHIVE, _CIFAR_MIRRORS) for key in _KEYS}
        return archives, lambda paths: _read_cifar_tar(paths["x_train"])

    return _load("cifar10", data_dir, download, builders)


# ---------------------------------------------------------------------------------------------
# Subconjuntos estratificados
# ---------------------------------------------------------------------------------------------


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
