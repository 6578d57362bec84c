"""Descarga de los archivos oficiales, con barra de progreso y suma verificada antes de guardarlos.

Se distinguen dos clases de fallo:

- de la **red** (réplica caída, conexión cortada, respuesta incompleta) o una descarga que no
  coincide con la suma publicada: se prueba la réplica siguiente;
- **locales** (sin permiso de escritura, disco lleno): :class:`LocalWriteError` en el acto, sin
  probar más réplicas, porque ninguna lo resolvería.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from .cache import write_new_file
from .integrity import Archive, DataError, checksum_mismatch, describe_error

__all__ = ["LocalWriteError", "download"]

# Errores de una descarga fallida o cortada (URLError y los de socket son OSError).
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError, ValueError)

# Punto de entrada de la red; las pruebas lo sustituyen para trabajar sin conexión.
_urlopen: Callable[..., Any] = urllib.request.urlopen


class LocalWriteError(DataError):
    """Una descarga no se pudo guardar por un error local (permisos, espacio), no de la red."""


class _NetworkFailure(Exception):
    """Envuelve un error de la red para no confundirlo con uno local del mismo tipo (OSError)."""


def download(archive: Archive, mirrors: tuple[str, ...], target: Path) -> None:
    """Descarga ``archive`` a ``target`` desde la primera réplica que funcione.

    La descarga va a un temporal de la carpeta de ``target`` y solo recibe su nombre final si
    coinciden sus sumas MD5 y SHA-256 publicadas; si no, se descarta sin abrirla.

    Errores
    -------
    :class:`LocalWriteError` si no se puede escribir en la carpeta; :class:`DataError` si
    ninguna réplica da el archivo correcto (el mensaje lista el fallo de cada una).
    """
    with warnings.catch_warnings():
        # Sin ipywidgets, tqdm.auto avisa en Jupyter y usa la barra de texto: basta con esa.
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    errors = []
    for mirror in mirrors:
        url = mirror + archive.filename

        # Se conecta antes de tocar la carpeta: sin red, no se crea nada en el disco.
        try:
            response = _urlopen(url, timeout=60)
        except _NETWORK_ERRORS as exc:
            errors.append(f"{url}: {describe_error(exc)}")
            continue

        def write(fh: BinaryIO, response: Any = response) -> None:
            with response:
                try:
                    total = int(response.headers.get("Content-Length") or 0) or None
                except (TypeError, ValueError):
                    total = None
                with tqdm(
                    total=total, unit="B", unit_scale=True, desc=archive.filename, leave=False
                ) as bar:
                    while True:
                        try:
                            block = response.read(1 << 16)
                        except _NETWORK_ERRORS as exc:
                            raise _NetworkFailure(describe_error(exc)) from exc
                        if not block:
                            break
                        fh.write(block)  # un OSError aquí es local (disco lleno...)
                        bar.update(len(block))

        def verify(tmp: Path) -> None:
            mismatch = checksum_mismatch(tmp, archive)
            if mismatch is not None:
                raise DataError(
                    f"la descarga no coincide con la suma publicada ({mismatch}); se ha "
                    "descartado sin abrirla"
                )

        try:
            write_new_file(target, write, verify)
            return
        except _NetworkFailure as exc:
            errors.append(f"{url}: {exc}")
        except DataError as exc:
            errors.append(f"{url}: {exc}")
        except OSError as exc:
            response.close()
            raise LocalWriteError(
                f"No se pudo guardar {archive.filename} en {target.parent}: {describe_error(exc)}. Es "
                "un error local (permisos de la carpeta o espacio en disco), no de la red, así "
                "que no se ha probado ninguna otra réplica."
            ) from exc
    raise DataError(
        f"No se pudo descargar {archive.filename} desde ninguna réplica:\n  " + "\n  ".join(errors)
    )
