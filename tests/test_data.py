"""Pruebas de la capa de datos (:mod:`bncourse.data`) sin red.

Las pruebas escriben ellas mismas archivos diminutos en los formatos oficiales (IDX de MNIST
comprimidos con gzip, lotes de CIFAR-10 serializados con pickle dentro de un ``.tar.gz``, y
``.npz``) y sustituyen las tablas de sumas de comprobación por las de esos archivos. La red está
desactivada en todas: ``bncourse.data._urlopen`` falla, o sirve los archivos desde memoria
cuando se prueba la descarga.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.client
import io
import os
import pickle
import re
import stat
import struct
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest

import bncourse
from bncourse.data import DataError
from bncourse.data import cache as bcache
from bncourse.data import download as bdownload
from bncourse.data import formats as bformats
from bncourse.data import integrity as bintegrity
from bncourse.data import loaders as bloaders

MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
CIFAR_TAR = "cifar-10-python.tar.gz"


# ---------------------------------------------------------------------------------------------
# Red falsa y entorno aislado
# ---------------------------------------------------------------------------------------------


class NetworkCalls(list):
    """URL pedidas a ``_urlopen`` durante una prueba."""


class FakeResponse:
    """Respuesta HTTP mínima: cabeceras, ``read(n)`` por bloques y gestor de contexto."""

    def __init__(self, payload: bytes, *, fail_after: int | None = None, error=None):
        self._stream = io.BytesIO(payload)
        self.headers = {"Content-Length": str(len(payload))}
        self._fail_after = fail_after
        self._error = error
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        if self._fail_after is not None and self._stream.tell() >= self._fail_after:
            raise self._error
        if self._fail_after is not None:
            n = min(n, self._fail_after - self._stream.tell())
        return self._stream.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        self.closed = True


def serve(monkeypatch, files: dict[str, bytes], *, fail=None, calls: NetworkCalls | None = None):
    """Sustituye la red por un servidor en memoria: ``files`` va del nombre al contenido.

    ``fail`` puede ser una función ``url -> FakeResponse | Exception | None`` para simular
    fallos (una excepción se lanza al abrir; una respuesta se devuelve tal cual).
    """
    calls = NetworkCalls() if calls is None else calls

    def fake_urlopen(url, timeout=None):
        calls.append(url)
        if fail is not None:
            outcome = fail(url)
            if isinstance(outcome, BaseException):
                raise outcome
            if outcome is not None:
                return outcome
        name = url.rsplit("/", 1)[-1]
        if name not in files:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return FakeResponse(files[name])

    monkeypatch.setattr(bdownload, "_urlopen", fake_urlopen)
    return calls


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Sin red y sin tocar la caché real del usuario en ninguna prueba."""
    calls = NetworkCalls()

    def no_network(url, timeout=None):
        calls.append(url)
        raise urllib.error.URLError("red desactivada en las pruebas")

    monkeypatch.setattr(bdownload, "_urlopen", no_network)
    monkeypatch.delenv("BNCOURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return calls


def all_files(root: Path) -> list[str]:
    """Archivos (no carpetas) bajo ``root``, relativos y ordenados."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def snapshot(path: Path) -> tuple[bytes, int]:
    st = path.stat()
    return path.read_bytes(), st.st_mtime_ns


# ---------------------------------------------------------------------------------------------
# Archivos diminutos en los formatos oficiales
# ---------------------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    """Formato IDX de bytes sin signo: 0, 0, 0x08, ndim, dimensiones big-endian, datos."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def gz(payload: bytes) -> bytes:
    return gzip.compress(payload, mtime=0)


def tiny_mnist(n_train: int = 20, n_test: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": ((np.arange(n_test) * 3) % 10).astype(np.uint8),
    }


def mnist_archives(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    """Los cuatro ``.gz`` oficiales (nombre -> contenido) de unos arreglos."""
    return {MNIST_FILES[key]: gz(idx_bytes(value)) for key, value in arrays.items()}


def archive_for(filename: str, content: bytes) -> bintegrity.Archive:
    return bintegrity.Archive(
        filename, hashlib.md5(content).hexdigest(), hashlib.sha256(content).hexdigest()
    )


def trust_mnist(monkeypatch, files: dict[str, bytes]) -> None:
    """Sustituye las sumas publicadas de MNIST por las de los archivos diminutos."""
    by_name = {name: key for key, name in MNIST_FILES.items()}
    table = {by_name[name]: archive_for(name, content) for name, content in files.items()}
    monkeypatch.setattr(bloaders, "_MNIST_ARCHIVES", table)


def trust_cifar(monkeypatch, content: bytes) -> None:
    """Sustituye las sumas publicadas de CIFAR-10 (MD5 y SHA-256) por las del archivo diminuto."""
    monkeypatch.setattr(bloaders, "_CIFAR_ARCHIVE", archive_for(CIFAR_TAR, content))


def write_mnist_raw(root: Path, files: dict[str, bytes]) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (raw / name).write_bytes(content)
    return raw


def tiny_cifar_batches(per_batch: int = 4, n_test: int = 6, seed: int = 0) -> dict[str, dict]:
    """Lotes como los oficiales: ``{b"data": uint8 (n, 3072), b"labels": [int, ...]}``."""
    rng = np.random.default_rng(seed)
    batches = {}
    for i, name in enumerate([*(f"data_batch_{k}" for k in range(1, 6)), "test_batch"]):
        n = n_test if name == "test_batch" else per_batch
        batches[name] = {
            b"batch_label": f"batch {i}".encode(),
            b"labels": [int(v) for v in (np.arange(n) + i) % 10],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}_{j}.png".encode() for j in range(n)],
        }
    return batches


def tar_gz(members: dict[str, bytes], *, folder: str = "cifar-10-batches-py") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(payload)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def cifar_tar(batches: dict[str, dict], *, drop: str | None = None) -> bytes:
    members = {"batches.meta": pickle.dumps({b"num_cases_per_batch": 4}, protocol=2)}
    for name, batch in batches.items():
        if name != drop:
            members[name] = pickle.dumps(batch, protocol=2)
    return tar_gz(members)


def py2_pickle(data: np.ndarray, labels: list[int]) -> bytes:
    """Un lote serializado como lo hizo Python 2 (cPickle, protocolo 2) en el archivo oficial.

    Las cadenas son ``str`` de Python 2 (códigos ``U``/``T``) y el arreglo se reconstruye con
    ``numpy.core.multiarray._reconstruct``, como en los lotes publicados.
    """

    def s(value: bytes) -> bytes:
        if len(value) < 256:
            return b"U" + bytes([len(value)]) + value
        return b"T" + struct.pack("<I", len(value)) + value

    def i(value: int) -> bytes:
        return b"J" + struct.pack("<i", value)

    n, m = data.shape
    array = (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        + i(0) + b"\x85" + s(b"b") + b"\x87R"
        + b"(" + i(1) + i(n) + i(m) + b"\x86"
        + b"cnumpy\ndtype\n" + s(b"u1") + i(0) + i(1) + b"\x87R"
        + b"(" + i(3) + s(b"|") + b"NNN" + i(-1) + i(-1) + i(0) + b"tb"
        + b"\x89" + s(data.tobytes()) + b"tb"
    )  # fmt: skip
    label_list = b"]" + b"(" + b"".join(i(v) for v in labels) + b"e"
    return b"\x80\x02}(" + s(b"data") + array + s(b"labels") + label_list + b"u."


def expected_cifar(batches: dict[str, dict]):
    """Reordena las filas oficiales (planos R, G, B de 32x32) a canales al final, píxel a píxel."""

    def convert(rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), 32, 32, 3), dtype=np.uint8)
        for k, row in enumerate(rows):
            for channel in range(3):
                plane = row[channel * 1024 : (channel + 1) * 1024]
                out[k, :, :, channel] = plane.reshape(32, 32)
        return out

    train = [batches[f"data_batch_{k}"] for k in range(1, 6)]
    x_train = convert(np.concatenate([b[b"data"] for b in train]))
    y_train = np.concatenate([b[b"labels"] for b in train]).astype(np.uint8)
    test = batches["test_batch"]
    return (x_train, y_train), (convert(test[b"data"]), np.array(test[b"labels"], np.uint8))


def write_npz(path: Path, **arrays) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def assert_split_equal(result, arrays: dict[str, np.ndarray]) -> None:
    (x_train, y_train), (x_test, y_test) = result
    for key, value in zip(
        ("x_train", "y_train", "x_test", "y_test"), (x_train, y_train, x_test, y_test), strict=True
    ):
        assert value.dtype == np.uint8, key
        np.testing.assert_array_equal(value, arrays[key], err_msg=key)


# ---------------------------------------------------------------------------------------------
# Archivos correctos
# ---------------------------------------------------------------------------------------------


def test_load_mnist_from_npz(tmp_path, offline):
    arrays = tiny_mnist()
    # Etiquetas como columna int64: se aceptan y se devuelven como vector uint8.
    write_npz(
        tmp_path / "mnist.npz",
        x_train=arrays["x_train"],
        y_train=arrays["y_train"].astype(np.int64)[:, None],
        x_test=arrays["x_test"],
        y_test=arrays["y_test"].astype(np.int64),
    )
    result = bncourse.load_mnist(tmp_path)
    (x_train, y_train), (x_test, y_test) = result
    assert x_train.shape == (20, 28, 28) and x_test.shape == (10, 28, 28)
    assert y_train.shape == (20,) and y_test.shape == (10,)
    assert_split_equal(result, arrays)
    assert offline == []


def test_load_cifar10_from_npz(tmp_path, offline):
    rng = np.random.default_rng(1)
    arrays = {
        "x_train": rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8),
        "y_train": np.arange(12, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8),
        "y_test": np.arange(5, dtype=np.uint8),
    }
    write_npz(tmp_path / "cifar10.npz", **arrays)
    result = bncourse.load_cifar10(str(tmp_path))  # también como cadena
    assert result[0][0].shape == (12, 32, 32, 3)
    assert_split_equal(result, arrays)
    assert offline == []


def test_load_mnist_from_official_idx_archives(tmp_path, monkeypatch, offline):
    arrays = tiny_mnist()
    files = mnist_archives(arrays)
    trust_mnist(monkeypatch, files)
    raw = write_mnist_raw(tmp_path, files)
    before = {name: (raw / name).read_bytes() for name in files}

    result = bncourse.load_mnist(tmp_path)

    assert_split_equal(result, arrays)
    assert offline == []
    # Se guarda mnist.npz (sin temporales) y los archivos oficiales quedan intactos.
    assert all_files(tmp_path) == sorted(["mnist.npz", *(f"MNIST/raw/{n}" for n in files)])
    assert {name: (raw / name).read_bytes() for name in files} == before
    with np.load(tmp_path / "mnist.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["x_test", "x_train", "y_test", "y_train"]
    # La segunda carga sale de la caché: ya no necesita los archivos oficiales.
    for name in files:
        (raw / name).unlink()
    assert_split_equal(bncourse.load_mnist(tmp_path), arrays)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_cached_npz_follows_the_umask(tmp_path, monkeypatch, umask, mode):
    """La caché nace con los permisos de cualquier archivo nuevo del usuario (0o666 sin umask)."""
    files = mnist_archives(tiny_mnist())
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)
    real_open = open

    def no_proc(path, *args, **kwargs):  # la umask ya no se lee de /proc/self/status
        assert "/proc/" not in str(path), path
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", no_proc)
    old = os.umask(umask)
    try:
        bncourse.load_mnist(tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "mnist.npz").stat().st_mode) == mode


def test_cache_is_written_uncompressed(tmp_path, monkeypatch):
    """Leer un .npz sin comprimir es mucho más rápido; las imágenes apenas se comprimen."""
    files = mnist_archives(tiny_mnist())
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)
    bncourse.load_mnist(tmp_path)
    with zipfile.ZipFile(tmp_path / "mnist.npz") as npz:
        infos = npz.infolist()
    assert sorted(i.filename for i in infos) == [f"{k}.npy" for k in sorted(MNIST_FILES)]
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)


def test_load_cifar10_from_official_tar_gz(tmp_path, monkeypatch, offline):
    batches = tiny_cifar_batches()
    content = cifar_tar(batches)
    trust_cifar(monkeypatch, content)
    (tmp_path / CIFAR_TAR).write_bytes(content)

    (x_train, y_train), (x_test, y_test) = bncourse.load_cifar10(tmp_path)

    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (6, 32, 32, 3)
    assert y_train.shape == (20,) and y_test.shape == (6,)
    assert x_train.dtype == y_train.dtype == np.uint8
    (ex_train, ey_train), (ex_test, ey_test) = expected_cifar(batches)
    np.testing.assert_array_equal(x_train, ex_train)
    np.testing.assert_array_equal(y_train, ey_train)
    np.testing.assert_array_equal(x_test, ex_test)
    np.testing.assert_array_equal(y_test, ey_test)
    # Orden de los canales: el primer byte de cada plano es el píxel (0, 0) de R, G y B.
    row = batches["data_batch_1"][b"data"][0]
    assert tuple(x_train[0, 0, 0]) == (row[0], row[1024], row[2048])
    assert tuple(x_train[0, 0, 1]) == (row[1], row[1025], row[2049])
    assert tuple(x_train[0, 1, 0]) == (row[32], row[1056], row[2080])
    # Los lotes se concatenan en orden: 1, 2, ..., 5.
    assert list(y_train[:8]) == [0, 1, 2, 3, 1, 2, 3, 4]
    assert offline == []
    assert all_files(tmp_path) == sorted([CIFAR_TAR, "cifar10.npz"])


def test_load_cifar10_reads_python2_pickles(tmp_path, monkeypatch):
    """Los lotes publicados son pickles de Python 2; el deserializador restringido los acepta."""
    batches = tiny_cifar_batches(per_batch=2, n_test=2)
    members = {
        name: py2_pickle(batch[b"data"], batch[b"labels"]) for name, batch in batches.items()
    }
    content = tar_gz(members)
    trust_cifar(monkeypatch, content)
    (tmp_path / CIFAR_TAR).write_bytes(content)
    (x_train, y_train), (x_test, y_test) = bncourse.load_cifar10(tmp_path)
    (ex_train, ey_train), (ex_test, ey_test) = expected_cifar(batches)
    np.testing.assert_array_equal(x_train, ex_train)
    np.testing.assert_array_equal(y_train, ey_train)
    np.testing.assert_array_equal(x_test, ex_test)
    np.testing.assert_array_equal(y_test, ey_test)


# ---------------------------------------------------------------------------------------------
# Archivos que no superan la validación: error claro en español que nombra el archivo
# ---------------------------------------------------------------------------------------------


def test_wrong_checksum_is_reported_before_parsing(tmp_path, monkeypatch, offline):
    files = mnist_archives(tiny_mnist())
    raw = write_mnist_raw(tmp_path, files)  # sumas oficiales: no coinciden con los diminutos

    def must_not_parse(*args, **kwargs):
        raise AssertionError("se ha leído un archivo sin verificar su suma")

    monkeypatch.setattr(bloaders, "read_idx", must_not_parse)
    monkeypatch.setattr(bformats.gzip, "open", must_not_parse)
    before = snapshot(raw / MNIST_FILES["x_train"])
    with pytest.raises(DataError, match="suma de comprobación publicada") as info:
        bncourse.load_mnist(tmp_path)
    message = str(info.value)
    assert MNIST_FILES["x_train"] in message
    assert "md5 esperado f68b3c2dcbeaaa9fbdd348bbdeb94873" in message
    assert "No se ha borrado" in message
    assert snapshot(raw / MNIST_FILES["x_train"]) == before
    assert not (tmp_path / "mnist.npz").exists()
    assert offline == []  # un archivo presente pero dañado no se vuelve a descargar


def test_wrong_cifar_checksum_never_unpickles(tmp_path, monkeypatch):
    content = cifar_tar(tiny_cifar_batches())
    (tmp_path / CIFAR_TAR).write_bytes(content)  # la suma oficial no coincide

    def must_not_open(*args, **kwargs):
        raise AssertionError("se ha abierto el archivo sin verificar su suma")

    monkeypatch.setattr(bformats.tarfile, "open", must_not_open)
    monkeypatch.setattr(bformats, "_RestrictedUnpickler", must_not_open)
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz no tiene la suma"):
        bncourse.load_cifar10(tmp_path)
    assert (tmp_path / CIFAR_TAR).read_bytes() == content
    assert all_files(tmp_path) == [CIFAR_TAR]


def test_sha256_is_checked_too(tmp_path, monkeypatch):
    files = mnist_archives(tiny_mnist())
    trust_mnist(monkeypatch, files)
    table = dict(bloaders._MNIST_ARCHIVES)
    good = table["y_test"]
    table["y_test"] = bintegrity.Archive(good.filename, good.md5, "0" * 64)
    monkeypatch.setattr(bloaders, "_MNIST_ARCHIVES", table)
    write_mnist_raw(tmp_path, files)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz.*sha256 esperado 0{64}"):
        bncourse.load_mnist(tmp_path)


def test_truncated_cifar_archive(tmp_path, monkeypatch):
    content = cifar_tar(tiny_cifar_batches())
    truncated = content[: len(content) // 2]
    # Aunque su suma coincidiera, el archivo truncado se detecta al leerlo.
    trust_cifar(monkeypatch, truncated)
    (tmp_path / CIFAR_TAR).write_bytes(truncated)
    with pytest.raises(DataError, match=r"No se pudo leer .*cifar-10-python\.tar\.gz"):
        bncourse.load_cifar10(tmp_path)
    assert (tmp_path / CIFAR_TAR).read_bytes() == truncated
    assert all_files(tmp_path) == [CIFAR_TAR]


def test_truncated_cifar_archive_with_official_checksum(tmp_path):
    content = cifar_tar(tiny_cifar_batches())
    (tmp_path / CIFAR_TAR).write_bytes(content[:100])
    with pytest.raises(DataError, match="incompleto o dañado"):
        bncourse.load_cifar10(tmp_path)


def test_corrupted_gzip_stream_in_cifar_archive(tmp_path, monkeypatch):
    content = bytearray(cifar_tar(tiny_cifar_batches()))
    content[len(content) // 2] ^= 0xFF  # un byte cambiado en mitad del flujo comprimido
    content = bytes(content)
    trust_cifar(monkeypatch, content)
    (tmp_path / CIFAR_TAR).write_bytes(content)
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz"):
        bncourse.load_cifar10(tmp_path)


def test_truncated_mnist_gzip(tmp_path, monkeypatch):
    files = mnist_archives(tiny_mnist())
    files[MNIST_FILES["x_test"]] = files[MNIST_FILES["x_test"]][:-30]
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)
    with pytest.raises(DataError, match=r"No se pudo descomprimir .*t10k-images-idx3-ubyte\.gz"):
        bncourse.load_mnist(tmp_path)
    assert not (tmp_path / "mnist.npz").exists()


def test_truncated_idx_payload(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    files = mnist_archives(arrays)
    files[MNIST_FILES["x_train"]] = gz(idx_bytes(arrays["x_train"])[:-100])
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz está truncado o dañado"):
        bncourse.load_mnist(tmp_path)


def test_idx_with_wrong_header(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    files = mnist_archives(arrays)
    files[MNIST_FILES["y_train"]] = gz(idx_bytes(arrays["x_train"]))  # imágenes como etiquetas
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)
    with pytest.raises(
        DataError,
        match=r"train-labels-idx1-ubyte\.gz tiene 3 dimensiones según su cabecera IDX; se esperaba 1\.",
    ):
        bncourse.load_mnist(tmp_path)
    files[MNIST_FILES["y_train"]] = gz(b"\x00\x00\x0d\x01" + idx_bytes(arrays["y_train"])[4:])
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)
    with pytest.raises(DataError, match="cabecera inválida"):
        bncourse.load_mnist(tmp_path)


def test_idx_with_wrong_image_size_names_the_file(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    arrays["x_test"] = np.zeros((10, 27, 28), np.uint8)
    files = mnist_archives(arrays)
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz.*forma \(10, 27, 28\)"):
        bncourse.load_mnist(tmp_path)


def test_idx_label_count_mismatch_names_the_file(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    arrays["y_train"] = arrays["y_train"][:-1]
    files = mnist_archives(arrays)
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz.*una etiqueta por imagen"):
        bncourse.load_mnist(tmp_path)


def test_idx_labels_out_of_range(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    arrays["y_test"][3] = 12
    files = mnist_archives(arrays)
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz.*entre 0 y 9"):
        bncourse.load_mnist(tmp_path)


def test_cifar_archive_missing_a_batch(tmp_path, monkeypatch):
    content = cifar_tar(tiny_cifar_batches(), drop="data_batch_3")
    trust_cifar(monkeypatch, content)
    (tmp_path / CIFAR_TAR).write_bytes(content)
    with pytest.raises(
        DataError, match=r"cifar-10-python\.tar\.gz no contiene el lote «data_batch_3»"
    ):
        bncourse.load_cifar10(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({b"data": np.zeros((4, 3000), np.uint8)}, "forma inesperada"),
        ({b"data": np.zeros((4, 3072), np.float32)}, "uint8"),
        ({b"labels": [0, 1, 2]}, "forma inesperada"),
        ({b"labels": [0.5, 1.0, 2.0, 3.0]}, "etiquetas enteras"),
        ({b"labels": [0, 1, 2, 10]}, "entre 0 y 9"),
    ],
)
def test_cifar_batch_with_wrong_content(tmp_path, monkeypatch, change, message):
    batches = tiny_cifar_batches()
    batches["data_batch_2"] = {**batches["data_batch_2"], **change}
    content = cifar_tar(batches)
    trust_cifar(monkeypatch, content)
    (tmp_path / CIFAR_TAR).write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        bncourse.load_cifar10(tmp_path)
    assert CIFAR_TAR in str(info.value)


def test_cifar_batch_missing_key(tmp_path, monkeypatch):
    batches = tiny_cifar_batches()
    del batches["test_batch"][b"labels"]
    content = cifar_tar(batches)
    trust_cifar(monkeypatch, content)
    (tmp_path / CIFAR_TAR).write_bytes(content)
    with pytest.raises(DataError, match=r"«test_batch» de .*cifar-10-python\.tar\.gz no tiene"):
        bncourse.load_cifar10(tmp_path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch hacked",))


def test_cifar_pickle_cannot_run_code(tmp_path, monkeypatch):
    """Aunque la suma coincida, el deserializador solo admite objetos de NumPy."""
    batches = tiny_cifar_batches()
    members = {name: pickle.dumps(batch, protocol=2) for name, batch in batches.items()}
    members["data_batch_1"] = pickle.dumps({b"data": _Evil(), b"labels": []}, protocol=2)
    content = tar_gz(members)
    trust_cifar(monkeypatch, content)
    (tmp_path / CIFAR_TAR).write_bytes(content)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"objeto no permitido en un lote de CIFAR-10: \w+\.system"):
        bncourse.load_cifar10(tmp_path)
    assert not (tmp_path / "hacked").exists()


# ---------------------------------------------------------------------------------------------
# Pickles maliciosos: se rechazan con DataError, nunca terminan el proceso con una señal
# ---------------------------------------------------------------------------------------------


def _p_str(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data  # BINUNICODE


def _p_bytes(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data  # BINBYTES


def _p_int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)  # BININT


def _p_global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _p_tuple(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def _p_call(func: bytes, *args: bytes) -> bytes:
    return func + _p_tuple(*args) + b"R"


def _p_build(obj: bytes, state: bytes) -> bytes:
    return obj + state + b"b"


_P_NDARRAY = _p_global("numpy", "ndarray")
_P_DTYPE = _p_global("numpy", "dtype")
_P_RECONSTRUCT = _p_global("numpy._core.multiarray", "_reconstruct")
_P_FROMBUFFER = _p_global("numpy._core.numeric", "_frombuffer")


def _p_dtype(code: str, flags: int) -> bytes:
    dtype = _p_call(_P_DTYPE, _p_str(code), b"\x89", b"\x88")
    state = _p_tuple(_p_int(3), _p_str("|"), b"NNN", _p_int(-1), _p_int(-1), _p_int(flags))
    return _p_build(dtype, state)


def _p_reconstructed(shape: tuple[int, ...], dtype: bytes, raw: bytes) -> bytes:
    array = _p_call(_P_RECONSTRUCT, _P_NDARRAY, _p_tuple(_p_int(0)), _p_bytes(b"b"))
    state = _p_tuple(_p_int(1), _p_tuple(*map(_p_int, shape)), dtype, b"\x89", _p_bytes(raw))
    return _p_build(array, state)


def _p_batch(data: bytes) -> bytes:
    """Un lote ``{b"data": <data>, b"labels": [0, 1, 2, 3]}`` en protocolo 3."""
    labels = b"](" + b"".join(_p_int(i) for i in range(4)) + b"e"
    return b"\x80\x03}(" + _p_bytes(b"data") + data + _p_bytes(b"labels") + labels + b"u."


# ndarray((2,), "O", b"A" * 16): un arreglo de objetos cuyos punteros son bytes del atacante.
_OBJECTS = _p_call(_P_NDARRAY, _p_tuple(_p_int(2)), _p_str("O"), _p_bytes(b"A" * 16))

CRAFTED_PICKLES = {
    # Con el deserializador anterior, este terminaba el proceso con SIGSEGV dentro de load():
    # NumPy lee la forma del segundo arreglo desreferenciando los punteros del primero.
    "ndarray-como-forma": (
        _p_batch(_p_call(_P_NDARRAY, _OBJECTS)),
        "construcción directa de numpy.ndarray",
    ),
    "ndarray-directo": (_p_batch(_OBJECTS), "construcción directa de numpy.ndarray"),
    "ndarray-sobre-otro": (
        _p_batch(_p_call(_P_NDARRAY, _p_tuple(_p_int(2)), _p_str("O"), _OBJECTS)),
        "construcción directa de numpy.ndarray",
    ),
    "frombuffer-de-objetos": (
        _p_batch(
            _p_call(
                _P_FROMBUFFER,
                _p_bytes(b"A" * 16),
                _p_dtype("O", 63),
                _p_tuple(_p_int(2)),
                _p_str("C"),
            )
        ),
        "tipo de dato 'O'",
    ),
    "reconstruct-de-objetos": (
        _p_batch(_p_reconstructed((2,), _p_dtype("O", 63), b"A" * 16)),
        "tipo de dato 'O'",
    ),
    "uint8-con-bandera-de-objetos": (
        _p_batch(_p_reconstructed((4, 3072), _p_dtype("u1", 63), b"A" * 4 * 3072)),
        "banderas 63",
    ),
    "tipo-compuesto-con-objetos": (
        _p_batch(
            _p_call(
                _P_FROMBUFFER,
                _p_bytes(b"A" * 16),
                _p_call(
                    _P_DTYPE, b"](" + _p_tuple(_p_str("a"), _p_str("O")) + b"e", b"\x89", b"\x88"
                ),
                _p_tuple(_p_int(2)),
                _p_str("C"),
            )
        ),
        r"tipo de dato \[\('a', 'O'\)\]",
    ),
    "arreglo-de-objetos-legitimo": (
        pickle.dumps({b"data": np.array([b"x"] * 8, dtype=object), b"labels": [0, 1]}, protocol=2),
        "tipo de dato 'O8'",
    ),
}

_LOAD_IN_SUBPROCESS = r"""
import hashlib, sys
from pathlib import Path

import bncourse
from bncourse.data import integrity, loaders

root = Path(sys.argv[1])
content = (root / "cifar-10-python.tar.gz").read_bytes()
loaders._CIFAR_ARCHIVE = integrity.Archive(
    "cifar-10-python.tar.gz", hashlib.md5(content).hexdigest(), hashlib.sha256(content).hexdigest()
)
try:
    bncourse.load_cifar10(root, download=False)
except bncourse.DataError as exc:
    print("DataError:", exc)
    sys.exit(0)
print("se cargó sin error")
sys.exit(3)
"""


@pytest.mark.parametrize("name", sorted(CRAFTED_PICKLES))
def test_crafted_pickle_is_rejected_in_a_subprocess(tmp_path, name):
    """Aunque la suma coincida, ningún lote puede crear arreglos de objetos ni llamar a ndarray.

    Cada lote corre en un proceso aparte: un fallo de segmentación sería un código de salida
    negativo (la señal), no una excepción de la prueba.
    """
    payload, reason = CRAFTED_PICKLES[name]
    batches = tiny_cifar_batches()
    members = {n: pickle.dumps(b, protocol=2) for n, b in batches.items()}
    members["data_batch_1"] = payload
    (tmp_path / CIFAR_TAR).write_bytes(tar_gz(members))
    env = {**os.environ, "PYTHONPATH": str(Path(bncourse.__file__).parents[1])}
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_IN_SUBPROCESS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr[-2000:])
    assert re.search(rf"DataError: .*«data_batch_1».*{reason}.*no permitido", result.stdout), (
        result.stdout
    )
    assert all_files(tmp_path) == [CIFAR_TAR]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_batches_load_with_every_pickle_protocol(tmp_path, monkeypatch, protocol):
    """Los lotes escritos con los protocolos 2 (``_reconstruct``) y 5 (``_frombuffer``) se leen."""
    batches = tiny_cifar_batches()
    batches["test_batch"][b"labels"] = np.array(batches["test_batch"][b"labels"], dtype=">i8")
    members = {n: pickle.dumps(b, protocol=protocol) for n, b in batches.items()}
    if protocol == 5:
        assert b"_frombuffer" in members["data_batch_1"]
    content = tar_gz(members)
    trust_cifar(monkeypatch, content)
    (tmp_path / CIFAR_TAR).write_bytes(content)
    (x_train, y_train), (x_test, y_test) = bncourse.load_cifar10(tmp_path)
    (ex_train, ey_train), (ex_test, ey_test) = expected_cifar(batches)
    np.testing.assert_array_equal(x_train, ex_train)
    np.testing.assert_array_equal(y_train, ey_train)
    np.testing.assert_array_equal(x_test, ex_test)
    np.testing.assert_array_equal(y_test, ey_test)


def test_cifar_archive_is_verified_with_sha256():
    archive = bloaders._CIFAR_ARCHIVE
    assert archive.md5 == "c58f30108f718f92721af3b95e74349a"
    assert archive.sha256 == "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def test_cifar_sha256_mismatch_is_refused_before_opening(tmp_path, monkeypatch):
    content = cifar_tar(tiny_cifar_batches())
    good = archive_for(CIFAR_TAR, content)
    monkeypatch.setattr(
        bloaders, "_CIFAR_ARCHIVE", bintegrity.Archive(CIFAR_TAR, good.md5, "f" * 64)
    )
    (tmp_path / CIFAR_TAR).write_bytes(content)

    def must_not_open(*args, **kwargs):
        raise AssertionError("se ha abierto el archivo sin verificar su SHA-256")

    monkeypatch.setattr(bformats.tarfile, "open", must_not_open)
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz.*sha256 esperado f{64}"):
        bncourse.load_cifar10(tmp_path)


def _npz_arrays(**changes):
    arrays = tiny_mnist()
    arrays.update(changes)
    return arrays


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (_npz_arrays(x_train=np.zeros((20, 28, 27), np.uint8)), r"«x_train» tiene forma \(20, 28, 27\); se esperaba \(N, 28, 28\)"),
        (_npz_arrays(x_test=np.zeros((10, 784), np.uint8)), r"«x_test» tiene forma \(10, 784\)"),
        (_npz_arrays(x_train=np.zeros((20, 28, 28), np.float32)), "«x_train» es de tipo float32; se esperaba uint8"),
        (_npz_arrays(y_train=np.zeros(20, np.float64)), "«y_train» es de tipo float64; se esperaban enteros"),
        (_npz_arrays(y_test=np.full(10, 10, np.uint8)), r"«y_test» contiene etiquetas entre 10 y 10; se esperaban enteros entre 0 y 9"),
        (_npz_arrays(y_train=-np.ones(20, np.int8)), "«y_train» contiene etiquetas entre -1 y -1"),
        (_npz_arrays(y_train=np.zeros(19, np.uint8)), r"«y_train» tiene forma \(19,\); se esperaba \(20,\)"),
        (_npz_arrays(x_test=np.zeros((0, 28, 28), np.uint8), y_test=np.zeros(0, np.uint8)), "«x_test» está vacío"),
    ],
    ids=["shape", "flat", "dtype-x", "dtype-y", "labels-high", "labels-negative", "count", "empty"],
)  # fmt: skip
def test_invalid_npz_is_reported_and_kept(tmp_path, arrays, message):
    path = write_npz(tmp_path / "mnist.npz", **arrays)
    before = snapshot(path)
    with pytest.raises(DataError, match=message) as info:
        bncourse.load_mnist(tmp_path)
    assert str(path) in str(info.value)
    assert snapshot(path) == before


def test_cifar_npz_channels_first_is_rejected(tmp_path):
    write_npz(
        tmp_path / "cifar10.npz",
        x_train=np.zeros((4, 3, 32, 32), np.uint8),
        y_train=np.zeros(4, np.uint8),
        x_test=np.zeros((2, 32, 32, 3), np.uint8),
        y_test=np.zeros(2, np.uint8),
    )
    with pytest.raises(DataError, match=r"se esperaba \(N, 32, 32, 3\)"):
        bncourse.load_cifar10(tmp_path)


def test_npz_missing_key(tmp_path):
    arrays = tiny_mnist()
    del arrays["y_test"]
    path = write_npz(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(DataError, match=r"mnist\.npz no contiene las claves y_test"):
        bncourse.load_mnist(tmp_path)
    assert path.is_file()


def _npz_bytes() -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **tiny_mnist())
    return buf.getvalue()


def _npy_bytes() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.zeros((3, 28, 28), np.uint8))
    return buf.getvalue()


def _pickled_npz() -> bytes:
    buf = io.BytesIO()
    arrays = tiny_mnist()
    arrays["y_train"] = np.array(list(arrays["y_train"]), dtype=object)
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        b"esto no es un npz\n",
        b"",
        _npz_bytes()[:2000],  # truncado
        _npy_bytes(),  # un .npy con un único arreglo
        _pickled_npz(),  # necesitaría allow_pickle=True
    ],
    ids=["text", "empty", "truncated", "npy", "pickled"],
)
def test_non_npz_file_is_reported_and_kept(tmp_path, content):
    path = tmp_path / "mnist.npz"
    path.write_bytes(content)
    before = snapshot(path)
    with pytest.raises(DataError, match=r"No se pudo leer .*mnist\.npz") as info:
        bncourse.load_mnist(tmp_path)
    assert "no se ha borrado" in str(info.value)
    assert snapshot(path) == before
    assert all_files(tmp_path) == ["mnist.npz"]


def test_corrupt_npz_is_not_replaced_even_with_good_archives(tmp_path, monkeypatch):
    files = mnist_archives(tiny_mnist())
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"roto")
    before = snapshot(path)
    with pytest.raises(DataError, match=r"mnist\.npz"):
        bncourse.load_mnist(tmp_path)
    assert snapshot(path) == before


def test_missing_data_offline_without_download(tmp_path, offline):
    with pytest.raises(DataError, match="No se encontraron los datos de MNIST") as info:
        bncourse.load_mnist(tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "mnist.npz") in message
    for name in MNIST_FILES.values():
        assert str(tmp_path / "MNIST" / "raw" / name) in message
    assert "BNCOURSE_DATA_DIR" in message and "data_dir" in message
    assert offline == []
    assert all_files(tmp_path) == []


def test_missing_data_offline_with_download(tmp_path, offline):
    with pytest.raises(DataError, match="no se pudieron descargar") as info:
        bncourse.load_cifar10(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "cifar10.npz") in message
    assert str(tmp_path / CIFAR_TAR) in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message
    assert "red desactivada" in message
    assert "BNCOURSE_DATA_DIR" in message
    assert offline == ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    assert all_files(tmp_path) == []


def test_data_dir_that_is_a_file(tmp_path):
    target = tmp_path / "datos"
    target.write_text("no soy una carpeta")
    with pytest.raises(DataError, match="no es una carpeta"):
        bncourse.load_mnist(target)
    assert target.read_text() == "no soy una carpeta"


# ---------------------------------------------------------------------------------------------
# Descarga: progreso, suma verificada antes de leer, caché atómica, nada a medias
# ---------------------------------------------------------------------------------------------


def test_download_mnist(tmp_path, monkeypatch, capsys):
    arrays = tiny_mnist()
    files = mnist_archives(arrays)
    trust_mnist(monkeypatch, files)
    calls = serve(monkeypatch, files)

    result = bncourse.load_mnist(tmp_path / "nueva")

    assert_split_equal(result, arrays)
    root = tmp_path / "nueva"
    assert all_files(root) == sorted(["mnist.npz", *(f"MNIST/raw/{n}" for n in files)])
    for name, content in files.items():
        assert (root / "MNIST" / "raw" / name).read_bytes() == content
    assert calls == [bloaders._MNIST_MIRRORS[0] + name for name in MNIST_FILES.values()]
    progress = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in progress and "B/s" in progress


def test_download_mnist_only_missing_files(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    files = mnist_archives(arrays)
    trust_mnist(monkeypatch, files)
    present = {k: v for k, v in files.items() if k != MNIST_FILES["y_test"]}
    raw = write_mnist_raw(tmp_path, present)
    before = {name: snapshot(raw / name) for name in present}
    calls = serve(monkeypatch, files)
    assert_split_equal(bncourse.load_mnist(tmp_path), arrays)
    assert calls == [bloaders._MNIST_MIRRORS[0] + MNIST_FILES["y_test"]]
    assert {name: snapshot(raw / name) for name in present} == before


def test_download_falls_back_to_next_mirror(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    files = mnist_archives(arrays)
    trust_mnist(monkeypatch, files)

    def first_mirror_down(url):
        if url.startswith(bloaders._MNIST_MIRRORS[0]):
            return urllib.error.URLError("réplica caída")
        return None

    calls = serve(monkeypatch, files, fail=first_mirror_down)
    assert_split_equal(bncourse.load_mnist(tmp_path), arrays)
    assert len(calls) == 8
    assert all(c.startswith(bloaders._MNIST_MIRRORS[1]) for c in calls[1::2])


def test_download_cifar10(tmp_path, monkeypatch, capsys):
    batches = tiny_cifar_batches()
    content = cifar_tar(batches)
    trust_cifar(monkeypatch, content)
    calls = serve(monkeypatch, {CIFAR_TAR: content})
    (x_train, y_train), (x_test, y_test) = bncourse.load_cifar10(tmp_path)
    (ex_train, ey_train), _ = expected_cifar(batches)
    np.testing.assert_array_equal(x_train, ex_train)
    np.testing.assert_array_equal(y_train, ey_train)
    assert calls == ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    assert (tmp_path / CIFAR_TAR).read_bytes() == content
    assert all_files(tmp_path) == sorted([CIFAR_TAR, "cifar10.npz"])
    assert CIFAR_TAR in capsys.readouterr().err


def test_corrupted_download_leaves_nothing(tmp_path, monkeypatch):
    content = cifar_tar(tiny_cifar_batches())
    trust_cifar(monkeypatch, content)
    damaged = content[:-10] + b"0123456789"
    serve(monkeypatch, {CIFAR_TAR: damaged})

    def must_not_open(*args, **kwargs):
        raise AssertionError("se ha abierto una descarga sin verificar su suma")

    monkeypatch.setattr(bformats.tarfile, "open", must_not_open)
    with pytest.raises(DataError, match="no coincide con la suma publicada") as info:
        bncourse.load_cifar10(tmp_path)
    message = str(info.value)
    assert "se ha descartado" in message
    assert ".part" not in message
    assert all_files(tmp_path) == []


@pytest.mark.parametrize(
    "error",
    [
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        TimeoutError("timed out"),
        http.client.IncompleteRead(b"x" * 10, 1000),
    ],
    ids=["reset", "timeout", "incomplete"],
)
def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch, error):
    files = mnist_archives(tiny_mnist())
    trust_mnist(monkeypatch, files)

    def cut(url):
        name = url.rsplit("/", 1)[-1]
        return FakeResponse(files[name], fail_after=len(files[name]) // 2, error=error)

    calls = serve(monkeypatch, files, fail=cut)
    with pytest.raises(DataError, match="no se pudieron descargar") as info:
        bncourse.load_mnist(tmp_path)
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    assert len(calls) == 2  # las dos réplicas del primer archivo
    assert all_files(tmp_path) == []


def test_keyboard_interrupt_during_download_leaves_nothing(tmp_path, monkeypatch):
    content = cifar_tar(tiny_cifar_batches())
    trust_cifar(monkeypatch, content)

    def cut(url):
        return FakeResponse(content, fail_after=len(content) // 3, error=KeyboardInterrupt())

    serve(monkeypatch, {CIFAR_TAR: content}, fail=cut)
    with pytest.raises(KeyboardInterrupt):
        bncourse.load_cifar10(tmp_path)
    assert all_files(tmp_path) == []


def test_existing_archive_is_never_replaced(tmp_path, monkeypatch, offline):
    content = cifar_tar(tiny_cifar_batches())
    trust_cifar(monkeypatch, content)
    mine = tmp_path / CIFAR_TAR
    mine.write_bytes(b"mi archivo, no lo toques")
    before = snapshot(mine)
    calls = serve(monkeypatch, {CIFAR_TAR: content})
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz no tiene la suma"):
        bncourse.load_cifar10(tmp_path)
    assert calls == []
    assert snapshot(mine) == before
    assert all_files(tmp_path) == [CIFAR_TAR]


def test_write_new_file_keeps_a_file_that_appeared_meanwhile(tmp_path):
    """Si otro proceso crea el archivo durante la escritura, se conserva el suyo."""
    target = tmp_path / "archivo.gz"

    def write(fh):
        target.write_bytes(b"del otro proceso")
        fh.write(b"nuestro")

    bcache.write_new_file(target, write)
    assert target.read_bytes() == b"del otro proceso"
    assert all_files(tmp_path) == ["archivo.gz"]


def test_write_new_file_without_hard_links(tmp_path, monkeypatch):
    """En sistemas de archivos sin enlaces duros (FAT, algunos montajes de red) también funciona."""

    def no_links(src, dst):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(bcache.os, "link", no_links)
    target = tmp_path / "nuevo.bin"
    bcache.write_new_file(target, lambda fh: fh.write(b"contenido"))
    assert target.read_bytes() == b"contenido"
    existing = tmp_path / "existente.bin"
    existing.write_bytes(b"del usuario")
    bcache.write_new_file(existing, lambda fh: fh.write(b"otro"))
    assert existing.read_bytes() == b"del usuario"
    assert all_files(tmp_path) == ["existente.bin", "nuevo.bin"]


def test_failed_cache_write_still_returns_arrays(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    files = mnist_archives(arrays)
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)

    def disk_full(fh, **arrays):
        fh.write(b"PK\x03\x04 a medias")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bloaders.np, "savez", disk_full)
    assert_split_equal(bncourse.load_mnist(tmp_path), arrays)
    assert all_files(tmp_path) == sorted(f"MNIST/raw/{n}" for n in files)


def test_interrupted_cache_write_leaves_nothing(tmp_path, monkeypatch):
    files = mnist_archives(tiny_mnist())
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)

    def interrupted(fh, **arrays):
        fh.write(b"PK\x03\x04 a medias")
        raise KeyboardInterrupt

    monkeypatch.setattr(bloaders.np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        bncourse.load_mnist(tmp_path)
    assert all_files(tmp_path) == sorted(f"MNIST/raw/{n}" for n in files)


def test_read_only_data_dir_still_returns_arrays(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    files = mnist_archives(arrays)
    trust_mnist(monkeypatch, files)
    write_mnist_raw(tmp_path, files)
    for folder in (tmp_path / "MNIST" / "raw", tmp_path / "MNIST", tmp_path):
        folder.chmod(0o555)

    def read_only(*args, **kwargs):  # root ignora los permisos: se simula el sistema de archivos
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(bcache, "_create_exclusive", read_only)
    try:
        assert_split_equal(bncourse.load_mnist(tmp_path), arrays)
        assert_split_equal(bncourse.load_mnist(tmp_path), arrays)  # sin caché, otra vez
        assert all_files(tmp_path) == sorted(f"MNIST/raw/{n}" for n in files)
    finally:
        for folder in (tmp_path, tmp_path / "MNIST", tmp_path / "MNIST" / "raw"):
            folder.chmod(0o755)


# ---------------------------------------------------------------------------------------------
# Carpeta de datos y argumentos
# ---------------------------------------------------------------------------------------------


def test_data_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert bncourse.default_data_dir() == tmp_path / "home" / ".cache" / "bncourse"
    monkeypatch.setenv("XDG_CACHE_HOME", "relativa/no/vale")  # la especificación XDG la ignora
    assert bncourse.default_data_dir() == tmp_path / "home" / ".cache" / "bncourse"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert bncourse.default_data_dir() == tmp_path / "xdg" / "bncourse"
    monkeypatch.setenv("BNCOURSE_DATA_DIR", "  ")  # vacía: se ignora
    assert bncourse.default_data_dir() == tmp_path / "xdg" / "bncourse"
    monkeypatch.setenv("BNCOURSE_DATA_DIR", str(tmp_path / "entorno"))
    assert bncourse.default_data_dir() == tmp_path / "entorno"
    assert bncourse.default_data_dir(tmp_path / "argumento") == tmp_path / "argumento"
    assert bncourse.default_data_dir(str(tmp_path / "cadena")) == tmp_path / "cadena"
    assert bncourse.default_data_dir("~/datos") == tmp_path / "home" / "datos"


def test_loaders_follow_the_data_dir_order(tmp_path, monkeypatch):
    def place(folder: Path, value: int) -> None:
        arrays = tiny_mnist()
        arrays["y_test"] = np.full(10, value, np.uint8)
        write_npz(folder / "mnist.npz", **arrays)

    place(tmp_path / "xdg" / "bncourse", 1)
    place(tmp_path / "entorno", 2)
    place(tmp_path / "argumento", 3)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert bncourse.load_mnist()[1][1][0] == 1
    monkeypatch.setenv("BNCOURSE_DATA_DIR", str(tmp_path / "entorno"))
    assert bncourse.load_mnist()[1][1][0] == 2
    assert bncourse.load_mnist(tmp_path / "argumento")[1][1][0] == 3


@pytest.mark.parametrize("loader", [bncourse.load_mnist, bncourse.load_cifar10])
def test_loader_bad_arguments(tmp_path, loader):
    with pytest.raises(TypeError, match="«data_dir» debe ser una ruta"):
        loader(42)
    with pytest.raises(ValueError, match="«data_dir» no puede ser una cadena vacía"):
        loader("")
    with pytest.raises(TypeError, match="«download» debe ser True o False; se recibió 'sí'"):
        loader(tmp_path, download="sí")
    with pytest.raises(TypeError, match="«data_dir» debe ser una ruta"):
        bncourse.default_data_dir(b"/tmp")
    assert all_files(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Errores locales y de red, temporales abandonados y descargas simultáneas
# ---------------------------------------------------------------------------------------------


class _FullDisk(io.RawIOBase):
    """Archivo que acepta unos bytes y después falla como un disco lleno."""

    def __init__(self, file) -> None:
        self._file = file
        self.written = 0

    def fileno(self) -> int:
        return self._file.fileno()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.written + len(data) > 100:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.written += len(data)
        return self._file.write(data)

    def close(self) -> None:
        self._file.close()
        super().close()


def test_full_disk_during_download_is_a_local_error(tmp_path, monkeypatch):
    files = mnist_archives(tiny_mnist())
    trust_mnist(monkeypatch, files)
    calls = serve(monkeypatch, files)
    real_fdopen = os.fdopen
    monkeypatch.setattr(bcache.os, "fdopen", lambda fd, mode: _FullDisk(real_fdopen(fd, mode)))
    with pytest.raises(bdownload.LocalWriteError) as info:
        bncourse.load_mnist(tmp_path)
    message = str(info.value)
    assert "No space left on device" in message
    assert "error local" in message and "no de la red" in message
    assert "no se pudieron guardar" in message and "ninguna réplica" not in message
    assert calls == [bloaders._MNIST_MIRRORS[0] + MNIST_FILES["x_train"]]  # sin más réplicas
    assert all_files(tmp_path) == []


def test_unwritable_data_dir_is_a_local_error(tmp_path, monkeypatch):
    files = mnist_archives(tiny_mnist())
    trust_mnist(monkeypatch, files)
    calls = serve(monkeypatch, files)

    def denied(directory, prefix):
        raise PermissionError(errno.EACCES, "Permission denied", str(directory))

    monkeypatch.setattr(bcache, "_create_exclusive", denied)
    with pytest.raises(DataError, match="Permission denied") as info:
        bncourse.load_mnist(tmp_path)
    assert isinstance(info.value, bdownload.LocalWriteError)
    assert "error local" in str(info.value)
    assert len(calls) == 1  # la primera réplica respondió; el fallo local no prueba más


def test_network_errors_still_try_every_mirror(tmp_path, monkeypatch):
    files = mnist_archives(tiny_mnist())
    trust_mnist(monkeypatch, files)
    calls = serve(monkeypatch, files, fail=lambda url: urllib.error.URLError("sin ruta"))
    with pytest.raises(DataError, match="ninguna réplica") as info:
        bncourse.load_mnist(tmp_path)
    assert not isinstance(info.value, bdownload.LocalWriteError)
    assert "sin ruta" in str(info.value)
    assert len(calls) == 2


def _part(folder: Path, name: str, age: float) -> Path:
    path = folder / name
    path.write_bytes(b"a medias")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_stale_part_files_are_removed_before_a_new_download(tmp_path, monkeypatch):
    content = cifar_tar(tiny_cifar_batches())
    trust_cifar(monkeypatch, content)
    serve(monkeypatch, {CIFAR_TAR: content})
    stale = _part(tmp_path, f".{CIFAR_TAR}.k1ll3d.part", 2 * 3600)
    fresh = _part(tmp_path, f".{CIFAR_TAR}.4l1v3.part", 60)  # otra descarga, quizá en curso
    other = _part(tmp_path, ".otro-archivo.tar.gz.v13j0.part", 2 * 3600)
    bncourse.load_cifar10(tmp_path)
    assert not stale.exists()
    assert fresh.exists() and other.exists()
    assert all_files(tmp_path) == sorted([CIFAR_TAR, "cifar10.npz", fresh.name, other.name])


def test_stale_part_files_of_other_users_are_kept(tmp_path, monkeypatch):
    stale = _part(tmp_path, f".{CIFAR_TAR}.ajeno.part", 2 * 3600)
    monkeypatch.setattr(bcache.os, "getuid", lambda: stale.stat().st_uid + 1)
    assert bcache.remove_stale_parts(tmp_path / CIFAR_TAR) == []
    assert stale.exists()
    monkeypatch.undo()
    assert bcache.remove_stale_parts(tmp_path / CIFAR_TAR) == [stale]


def test_second_process_waits_for_the_download_and_reads_the_cache(tmp_path, monkeypatch, capsys):
    """Mientras otro proceso tiene el cerrojo, se espera; al soltarlo, se lee su caché sin red."""
    arrays = tiny_mnist()
    files = mnist_archives(arrays)
    trust_mnist(monkeypatch, files)
    calls = serve(monkeypatch, files)
    monkeypatch.setattr(bcache, "LOCK_POLL", 0.01)
    lock = tmp_path / ".mnist.npz.lock"
    results: list = []
    with bcache.dataset_lock(lock, "MNIST"):  # el «primer proceso»
        worker = threading.Thread(target=lambda: results.append(bncourse.load_mnist(tmp_path)))
        worker.start()
        deadline = time.monotonic() + 30
        while "se espera" not in capsys.readouterr().err:
            assert time.monotonic() < deadline, "el segundo proceso no esperó al cerrojo"
            time.sleep(0.01)
        assert worker.is_alive() and calls == []
        write_npz(tmp_path / "mnist.npz", **arrays)  # lo que deja el primero al terminar
    worker.join(30)
    assert not worker.is_alive()
    assert_split_equal(results[0], arrays)
    assert calls == []
    assert all_files(tmp_path) == ["mnist.npz"]  # ni cerrojo ni temporales


def test_lock_wait_has_a_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(bcache, "LOCK_POLL", 0.01)
    lock = tmp_path / ".cifar10.npz.lock"
    with bcache.dataset_lock(lock, "CIFAR-10"):
        with pytest.raises(DataError, match=r"lleva más de 0\.05 s preparando CIFAR-10"):
            with bcache.dataset_lock(lock, "CIFAR-10", timeout=0.05):
                pass
    with bcache.dataset_lock(lock, "CIFAR-10", timeout=0.05):  # ya libre
        assert lock.exists()
    assert not lock.exists()


def test_two_processes_download_once(tmp_path):
    """Dos procesos de verdad piden CIFAR-10 a la vez: solo uno lo descarga."""
    content = cifar_tar(tiny_cifar_batches())
    (tmp_path / "servido.tar.gz").write_bytes(content)
    script = r"""
import hashlib, io, sys, time
from pathlib import Path

import bncourse
from bncourse.data import download, integrity, loaders

root, served, log = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
content = served.read_bytes()
loaders._CIFAR_ARCHIVE = integrity.Archive(
    "cifar-10-python.tar.gz", hashlib.md5(content).hexdigest(), hashlib.sha256(content).hexdigest()
)


class Slow(io.BytesIO):
    headers = {"Content-Length": str(len(content))}

    def read(self, n=-1):  # unos 3 s en total: el segundo proceso llega durante la descarga
        time.sleep(3 / 20)
        return super().read(len(content) // 20 + 1)


def urlopen(url, timeout=None):
    with open(log, "a") as fh:
        fh.write(url + "\n")
    return Slow(content)


download._urlopen = urlopen
(x_train, _), _ = bncourse.load_cifar10(root)
print(x_train.shape)
"""
    env = {**os.environ, "PYTHONPATH": str(Path(bncourse.__file__).parents[1])}
    root, log = tmp_path / "datos", tmp_path / "descargas.txt"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(root), str(tmp_path / "servido.tar.gz"), str(log)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sum("se espera" in err for _, err in outputs) == 1, outputs
    assert [out.strip() for out, _ in outputs] == ["(20, 32, 32, 3)"] * 2
    assert log.read_text().splitlines() == [
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    ]
    assert all_files(root) == sorted([CIFAR_TAR, "cifar10.npz"])
