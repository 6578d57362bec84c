"""Lectura de los formatos oficiales: IDX de MNIST y lotes de CIFAR-10 (pickles en un ``.tar.gz``).

Estas funciones solo se llaman después de verificar las sumas publicadas de cada archivo
(:mod:`bncourse.data.integrity`). Aun así, un pickle es un programa: los lotes de CIFAR-10 se
leen con un deserializador restringido que **no deja construir ningún objeto de NumPy a partir
de los datos del archivo**. Los nombres globales que usa un lote legítimo (``_reconstruct``,
``_frombuffer``, ``ndarray``, ``dtype`` y ``_codecs.encode``) se sustituyen por equivalentes
propios que solo admiten tipos numéricos simples (enteros, reales, booleanos; nunca ``object``
ni tipos compuestos) y que crean cada arreglo con ``numpy.frombuffer`` sobre bytes cuyo tamaño
se comprueba. Llamar directamente a ``numpy.ndarray(...)`` no está permitido: con un tipo
``object`` y bytes arbitrarios, NumPy interpretaría esos bytes como punteros.
"""

from __future__ import annotations

import gzip
import io
import math
import pickle
import tarfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import describe
from .integrity import DataError, describe_error

__all__ = ["read_cifar_tar", "read_idx"]

# Errores que puede dar la lectura de un archivo dañado (además de los de E/S).
READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    OverflowError,
    zlib.error,
    tarfile.TarError,
    pickle.UnpicklingError,
)


def read_idx(path: Path, expected_ndim: int) -> np.ndarray:
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
    expected_size = math.prod(shape)
    if len(data) - header != expected_size:
        raise DataError(
            f"{path} está truncado o dañado: la cabecera anuncia {expected_size} bytes de datos "
            f"y contiene {len(data) - header}."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


# ---------------------------------------------------------------------------------------------
# Deserializador restringido de los lotes de CIFAR-10
# ---------------------------------------------------------------------------------------------

_SIMPLE_DTYPES = frozenset({"b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8"})
_WHERE = "en un lote de CIFAR-10"


def _refuse(what: str) -> pickle.UnpicklingError:
    return pickle.UnpicklingError(f"{what}: no permitido {_WHERE}")


class _ArrayClass:
    """Lo que recibe un lote en lugar de ``numpy.ndarray``: solo vale como argumento de
    ``_reconstruct``; llamarlo (construir un arreglo directamente) está prohibido."""

    __slots__ = ()

    def __call__(self, *args: object, **kwargs: object) -> None:
        raise _refuse("construcción directa de numpy.ndarray")

    def __repr__(self) -> str:
        return "numpy.ndarray (restringido)"


_ARRAY_CLASS = _ArrayClass()


class _DTypeSpec:
    """Un tipo numérico simple pedido por el lote (p. ej. ``"u1"``), aún sin crear en NumPy."""

    __slots__ = ("code", "order")

    def __init__(self, code: str) -> None:
        self.code = code
        self.order = "="

    def __setstate__(self, state: object) -> None:
        # Estado de numpy.dtype: (versión, orden de bytes, subarreglo, nombres, campos,
        # tamaño, alineación, banderas). Un tipo simple no tiene subarreglo, nombres ni campos,
        # y sus banderas son 0 (la de «contiene objetos» incluida).
        if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
            raise _refuse(f"estado de tipo de dato {describe(state)}")
        order, subarray, names, fields, flags = state[1], state[2], state[3], state[4], state[7]
        if isinstance(order, bytes):  # cadenas de Python 2 leídas con encoding="bytes"
            order = order.decode("latin-1")
        if order not in ("<", ">", "|", "="):
            raise _refuse(f"orden de bytes {order!r}")
        if (subarray, names, fields) != (None, None, None):
            raise _refuse("tipo de dato compuesto")
        if flags != 0:
            raise _refuse(f"tipo de dato con banderas {flags!r} (p. ej. de objetos)")
        self.order = order

    def dtype(self) -> np.dtype:
        dtype = np.dtype(self.code)
        if self.order == "<":
            dtype = dtype.newbyteorder("<")
        elif self.order == ">":
            dtype = dtype.newbyteorder(">")
        return dtype

    def __repr__(self) -> str:
        return f"dtype({self.code!r})"


class _ArrayState:
    """Lo que devuelve ``_reconstruct``: el arreglo se crea al recibir su estado (``BUILD``)."""

    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: object) -> None:
        # Estado de numpy.ndarray: (versión, forma, tipo, orden de Fortran, datos).
        if self.array is not None or not isinstance(state, tuple) or len(state) != 5:
            raise _refuse(f"estado de arreglo {describe(state)}")
        version, shape, dtype, fortran, raw = state
        if version != 1 or not isinstance(fortran, bool | int):
            raise _refuse(f"estado de arreglo de versión {version!r}")
        self.array = _array_from_bytes(raw, dtype, shape, "F" if fortran else "C")

    def __repr__(self) -> str:
        return "arreglo incompleto (sin estado)" if self.array is None else "arreglo"


def _array_from_bytes(raw: object, dtype: object, shape: object, order: object) -> np.ndarray:
    if not isinstance(dtype, _DTypeSpec):
        raise _refuse(f"tipo de dato {describe(dtype)}")
    if not isinstance(raw, bytes | bytearray):
        # Un arreglo de objetos guarda una lista de objetos de Python en lugar de bytes.
        raise _refuse(f"contenido de arreglo {describe(raw)} (solo se admiten bytes)")
    if (
        not isinstance(shape, tuple)
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        or order not in ("C", "F")
    ):
        raise _refuse(f"forma de arreglo {describe(shape)}")
    numpy_dtype = dtype.dtype()
    if len(raw) != math.prod(shape) * numpy_dtype.itemsize:
        raise pickle.UnpicklingError(
            f"el arreglo de forma {shape} y tipo {numpy_dtype} {_WHERE} necesita "
            f"{math.prod(shape) * numpy_dtype.itemsize} bytes y tiene {len(raw)}"
        )
    return np.frombuffer(raw, dtype=numpy_dtype).reshape(shape, order=order).copy(order="K")


def _reconstruct(subtype: object, shape: object, code: object) -> _ArrayState:
    if subtype is not _ARRAY_CLASS:
        raise _refuse(f"_reconstruct de {describe(subtype)}")
    return _ArrayState()


def _frombuffer(buffer: object, dtype: object, shape: object, order: object = "C") -> np.ndarray:
    return _array_from_bytes(buffer, dtype, shape, order)


def _dtype(code: object, align: object = False, copy: object = False) -> _DTypeSpec:
    if isinstance(code, bytes):
        code = code.decode("latin-1")
    if not isinstance(code, str) or code not in _SIMPLE_DTYPES:
        raise _refuse(f"tipo de dato {code!r} (solo tipos numéricos simples, nunca objetos)")
    return _DTypeSpec(code)


def _encode(text: object, encoding: object = "utf-8") -> bytes:
    # Con el protocolo 2, Python 3 guarda los bytes como _codecs.encode(texto, "latin1").
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _refuse(f"_codecs.encode con {encoding!r}")
    return text.encode("latin-1")


_GLOBALS: dict[tuple[str, str], object] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _ARRAY_CLASS,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Deserializador de los lotes de CIFAR-10: solo los sustitutos de :data:`_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"objeto no permitido {_WHERE}: {module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError(f"referencia persistente no permitida {_WHERE}")


def load_batch(payload: bytes) -> Any:
    """Deserializa un lote con :class:`_RestrictedUnpickler` y sustituye sus arreglos."""
    value = _RestrictedUnpickler(io.BytesIO(payload), encoding="bytes").load()
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    return _resolve(value)


def _resolve(value: Any) -> Any:
    if isinstance(value, _ArrayState):
        if value.array is None:
            raise pickle.UnpicklingError(f"arreglo sin contenido {_WHERE}")
        return value.array
    if isinstance(value, _DTypeSpec):
        return value.dtype()
    return value


def _unpack(batch: Any, name: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
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
    raw_labels = batch[b"labels"]
    if not isinstance(raw_labels, list | np.ndarray) or not all(
        isinstance(v, int | np.integer) for v in raw_labels
    ):
        raise DataError(
            f"{where} no tiene el formato oficial: b'labels' debe ser una lista de etiquetas "
            f"enteras; es {describe(raw_labels)}."
        )
    try:
        labels = np.asarray(raw_labels, dtype=np.int64).reshape(-1)
    except (OverflowError, ValueError) as exc:
        raise DataError(f"{where} tiene etiquetas fuera del rango de int64: {exc}.") from exc
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DataError(
            f"{where} tiene una forma inesperada: b'data' {data.shape} y {len(labels)} "
            "etiquetas; se esperaban (N, 3072) y N etiquetas."
        )
    # Formato oficial: filas de 3072 bytes, canal a canal (R, G, B), 32x32 cada uno.
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def read_cifar_tar(path: Path) -> dict[str, np.ndarray]:
    """Lee los seis lotes de ``cifar-10-python.tar.gz`` sin extraer nada al disco.

    Devuelve ``x_train``, ``y_train``, ``x_test`` e ``y_test`` (imágenes con los canales al
    final). Cualquier problema del archivo, o un lote que intente algo más que describir sus
    arreglos, se informa con :class:`~bncourse.DataError`.
    """
    names = [f"data_batch_{i}" for i in range(1, 6)]
    batches: dict[str, Any] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for name in [*names, "test_batch"]:
                if name not in members:
                    raise DataError(f"{path} no contiene el lote «{name}» de CIFAR-10.")
                fh = tar.extractfile(members[name])
                if fh is None:  # pragma: no cover - isfile() lo descarta
                    raise DataError(f"{path}: el lote «{name}» no es un archivo.")
                payload = fh.read()
                try:
                    batches[name] = load_batch(payload)
                except Exception as exc:  # un pickle dañado puede lanzar casi cualquier cosa
                    raise DataError(
                        f"No se pudo leer el lote «{name}» de {path}: {describe_error(exc)}. "
                        "Sustituya el archivo por una copia correcta."
                    ) from exc
    except DataError:
        raise
    except READ_ERRORS as exc:
        raise DataError(
            f"No se pudo leer {path}: {exc}. Sustituya el archivo por una copia correcta."
        ) from exc

    train = [_unpack(batches[n], n, path) for n in names]
    x_test, y_test = _unpack(batches["test_batch"], "test_batch", path)
    return {
        "x_train": np.concatenate([x for x, _ in train]),
        "y_train": np.concatenate([y for _, y in train]),
        "x_test": x_test,
        "y_test": y_test,
    }
