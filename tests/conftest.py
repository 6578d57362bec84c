"""Configuración común de las pruebas.

- Las herramientas del libro (``tools/``) se importan como módulos.
- Cada prueba de ``tests/`` tiene un límite de tiempo (pytest-timeout, :data:`UNIT_TIMEOUT`
  segundos, sin contar la preparación de sus *fixtures*, que puede incluir una descarga): una
  prueba colgada falla en lugar de bloquear ``make unit``. Una prueba que necesite más lo dice
  con ``@pytest.mark.timeout(...)``.
- ``mnist_available`` y ``cifar_available`` garantizan los datos reales: si no están en la
  carpeta de datos, se descargan (y verifican) con los cargadores del paquete. Si no se pueden
  obtener, la prueba se omite diciéndolo, salvo con ``CI=true``, donde falla: en integración
  continua un conjunto que falta es un error, no un motivo para no probar nada.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TOOLS = TESTS.parent / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

UNIT_TIMEOUT = 300
"""Segundos que puede durar, como mucho, cada prueba de ``tests/`` (sin sus *fixtures*)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if TESTS in Path(item.path).parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(UNIT_TIMEOUT, func_only=True))


def in_ci() -> bool:
    """``True`` si la variable de entorno ``CI`` vale ``true`` (como en GitHub Actions)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_dataset(loader: Callable[..., object], name: str) -> None:
    """Asegura que ``loader`` (``bncourse.load_mnist`` o ``load_cifar10``) tiene sus datos.

    Primero sin red; si faltan, descarga los archivos oficiales con el propio cargador (sumas
    verificadas antes de abrirlos). Si tampoco así, omite la prueba, o la hace fallar con
    ``CI=true``.
    """
    import bncourse

    try:
        loader(download=False)
        return
    except bncourse.DataError:
        pass
    try:
        loader()
    except bncourse.DataError as exc:
        reason = exc.__cause__ if isinstance(exc.__cause__, bncourse.DataError) else exc
        message = (
            f"{name} no está en la carpeta de datos ({bncourse.default_data_dir()}) y no se pudo "
            f"descargar: {' '.join(str(reason).split())[:400]}"
        )
        if in_ci():
            pytest.fail(f"{message} (CI=true: un conjunto de datos que falta es un error).")
        pytest.skip(f"{message}. Defina BNCOURSE_DATA_DIR o conéctese a internet.")


@pytest.fixture(scope="session")
def mnist_available() -> None:
    import bncourse

    require_dataset(bncourse.load_mnist, "MNIST")


@pytest.fixture(scope="session")
def cifar_available() -> None:
    import bncourse

    require_dataset(bncourse.load_cifar10, "CIFAR-10")
