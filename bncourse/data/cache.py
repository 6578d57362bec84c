"""Escritura en la carpeta de datos: archivos nuevos atómicos, temporales huérfanos y cerrojos.

- :func:`write_new_file` escribe un archivo de forma atómica (temporal oculto ``.part`` en la
  misma carpeta y enlace con el nombre final) y nunca sobrescribe uno que ya exista.
- :func:`remove_stale_parts` borra los temporales que dejó un proceso que murió a mitad de una
  escritura: solo los del mismo archivo, del propio usuario y con más de una hora.
- :func:`dataset_lock` es un cerrojo (``fcntl.flock``) por conjunto de datos: si dos procesos
  necesitan descargar el mismo, el segundo espera y después lee lo que dejó el primero.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .integrity import DataError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: sin cerrojos entre procesos
    fcntl = None  # type: ignore[assignment]

__all__ = ["dataset_lock", "remove_stale_parts", "write_new_file"]

STALE_AFTER = 3600.0
"""Segundos sin cambios tras los que un temporal ``.part`` se considera abandonado."""
LOCK_TIMEOUT = 3600.0
"""Segundos que se espera, como mucho, a que otro proceso suelte el cerrojo de un conjunto."""
LOCK_POLL = 0.2
"""Segundos entre dos intentos de tomar un cerrojo ocupado."""

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
# Sistemas de archivos sin flock (algunos montajes de red): se sigue sin cerrojo.
_NO_LOCKING = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL}


def _part_prefix(path: Path) -> str:
    return f".{path.name}."


def _create_exclusive(directory: Path, prefix: str) -> tuple[int, Path]:
    """Crea un temporal nuevo ``prefix<azar>.part`` en ``directory`` y devuelve (descriptor, ruta).

    ``O_CREAT | O_EXCL`` con permisos ``0o666``: el núcleo aplica la umask del proceso, así que
    el archivo final tiene los permisos de cualquier archivo que cree el usuario.
    """
    for _ in range(100):
        candidate = directory / f"{prefix}{secrets.token_hex(6)}.part"
        try:
            fd = os.open(
                candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC | _O_BINARY, 0o666
            )
        except FileExistsError:
            continue
        return fd, candidate
    raise FileExistsError(
        errno.EEXIST, "no se pudo crear un temporal con un nombre nuevo", str(directory)
    )


def remove_stale_parts(path: Path, *, older_than: float = STALE_AFTER) -> list[Path]:
    """Borra los temporales abandonados de ``path`` (``.{nombre}.*.part`` en su carpeta).

    Solo borra archivos normales (no enlaces) del usuario actual que no han cambiado en
    ``older_than`` segundos: los de una escritura en curso, o de otro usuario, se respetan.
    Devuelve las rutas borradas; los errores (carpeta ilegible, archivo que ya no existe) se
    ignoran.
    """
    prefix = _part_prefix(path)
    uid = os.getuid() if hasattr(os, "getuid") else None
    now = time.time()
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".part")):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or (uid is not None and st.st_uid != uid):
                continue
            if now - st.st_mtime < older_than:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def write_new_file(
    path: Path,
    write: Callable[[BinaryIO], None],
    verify: Callable[[Path], None] | None = None,
) -> None:
    """Escribe ``path`` de forma atómica sin sobrescribir nunca un archivo existente.

    Antes borra los temporales abandonados del mismo archivo (:func:`remove_stale_parts`).
    Se escribe en un temporal de la misma carpeta y se enlaza con el nombre final; si ya existe
    un archivo con ese nombre (por ejemplo, de otro proceso), se conserva el existente.
    ``verify`` recibe la ruta del temporal ya completo y puede rechazarlo lanzando una excepción;
    el temporal se borra siempre, también si la escritura se interrumpe. Los errores locales
    (permisos, disco lleno) se propagan como ``OSError``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(path)
    fd, tmp = _create_exclusive(path.parent, _part_prefix(path))
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if verify is not None:
            verify(tmp)
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


def _try_lock(lock_path: Path, what: str, timeout: float) -> int | None:
    """Toma el cerrojo ``lock_path``; devuelve su descriptor, o ``None`` si no se puede usar."""
    deadline = time.monotonic() + timeout
    announced = False
    while True:
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | _O_CLOEXEC, 0o666)
        except OSError:
            return None  # carpeta de solo lectura: la escritura posterior dirá qué falla
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not announced:
                        print(
                            f"Otro proceso está preparando {what} en {lock_path.parent}; se "
                            "espera a que termine.",
                            file=sys.stderr,
                            flush=True,
                        )
                        announced = True
                    if time.monotonic() >= deadline:
                        raise DataError(
                            f"Otro proceso lleva más de {timeout:g} s preparando {what} en "
                            f"{lock_path.parent} (cerrojo {lock_path}). Espere a que termine o, "
                            "si ese proceso ya no existe, borre el cerrojo y vuelva a intentarlo."
                        ) from None
                    time.sleep(LOCK_POLL)
            # Quien soltó el cerrojo antes pudo borrar el archivo: solo vale si sigue siendo el
            # mismo que hay en la ruta.
            try:
                current = os.stat(lock_path)
                mine = os.fstat(fd)
                if (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
                    return fd
            except FileNotFoundError:
                pass
        except OSError as exc:
            os.close(fd)
            if exc.errno in _NO_LOCKING:
                return None
            raise
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


@contextmanager
def dataset_lock(lock_path: Path, what: str, *, timeout: float | None = None) -> Iterator[None]:
    """Cerrojo exclusivo entre procesos mientras se descarga y se guarda un conjunto de datos.

    Quien llega segundo espera (hasta ``timeout`` segundos, por defecto :data:`LOCK_TIMEOUT`,
    avisando una vez por la salida de error) y después continúa: para entonces el conjunto ya
    está en la caché. El archivo del cerrojo se borra al soltarlo. Sin ``fcntl`` (Windows), en
    sistemas de archivos sin ``flock`` o en carpetas de solo lectura, no hay cerrojo.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    fd = _try_lock(lock_path, what, LOCK_TIMEOUT if timeout is None else timeout)
    try:
        yield
    finally:
        if fd is not None:
            try:
                os.unlink(lock_path)  # todavía con el cerrojo tomado (véase _try_lock)
            except OSError:
                pass
            os.close(fd)
