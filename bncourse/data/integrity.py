"""Integridad de los archivos de datos: el error común y las sumas de comprobación publicadas.

Solo se leen los bytes de cada archivo: verificar no descomprime ni deserializa nada.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Archive", "DataError", "checksum_mismatch", "describe_error", "verify_archive"]

ENV_VAR = "BNCOURSE_DATA_DIR"
"""Variable de entorno con la carpeta de datos (véase :func:`bncourse.default_data_dir`)."""


class DataError(RuntimeError):
    """Un conjunto de datos falta, está incompleto o no supera la validación."""


def describe_error(exc: BaseException) -> str:
    """Texto de una excepción para un mensaje: el suyo o, si está vacío, el nombre de su tipo."""
    return str(exc) or type(exc).__name__


@dataclass(frozen=True)
class Archive:
    """Un archivo oficial y sus sumas publicadas (MD5 y SHA-256, en hexadecimal)."""

    filename: str
    md5: str
    sha256: str


def _digests(path: Path) -> dict[str, str]:
    """MD5 y SHA-256 de ``path`` en una sola lectura."""
    hashes = {"md5": hashlib.md5(usedforsecurity=False), "sha256": hashlib.sha256()}
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            for h in hashes.values():
                h.update(block)
    return {name: h.hexdigest() for name, h in hashes.items()}


def checksum_mismatch(path: Path, archive: Archive) -> str | None:
    """Describe en qué difieren las sumas de ``path`` de las publicadas; ``None`` si coinciden.

    Se comprueban las dos, MD5 y SHA-256: un archivo pasa solo si coinciden ambas.
    """
    got = _digests(path)
    for algorithm, expected in (("md5", archive.md5), ("sha256", archive.sha256)):
        if got[algorithm] != expected:
            return f"{algorithm} esperado {expected}, obtenido {got[algorithm]}"
    return None


def verify_archive(path: Path, archive: Archive) -> None:
    """Verifica las sumas publicadas de un archivo ya presente; no lo abre de ninguna otra forma."""
    try:
        mismatch = checksum_mismatch(path, archive)
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
