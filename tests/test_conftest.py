"""Las reglas de tests/conftest.py: datos que faltan (omitir o fallar con CI=true) y tiempos."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run_pytest(tmp_path: Path, body: str, *, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Ejecuta una prueba escrita en ``tests/`` (para que le aplique conftest.py) y la borra."""
    test = ROOT / "tests" / f"test_tmp_conftest_{tmp_path.name}.py"
    test.write_text(textwrap.dedent(body), encoding="utf-8")
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest", str(test), "-q", "-rs", "-p", "no:cacheprovider"],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=ROOT,
            env={**env, "PYTHONPATH": str(ROOT)},
        )
    finally:
        test.unlink()


OFFLINE_TEST = """
    import urllib.error

    from bncourse.data import download


    def _offline(url, timeout=None):
        raise urllib.error.URLError("sin conexión (prueba)")


    download._urlopen = _offline


    def test_needs_mnist(mnist_available):
        pass
"""


@pytest.mark.parametrize(("ci", "outcome"), [("", "1 skipped"), ("true", "1 error")])
def test_missing_dataset_skips_or_fails_under_ci(tmp_path, ci, outcome):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "CI": ci,
    }
    result = _run_pytest(tmp_path, OFFLINE_TEST, env=env)
    assert outcome in result.stdout, result.stdout[-3000:]
    assert "MNIST no está en la carpeta de datos" in result.stdout
    assert "sin conexión (prueba)" in result.stdout  # lo intentó descargar
    if ci:
        assert "CI=true" in result.stdout


def test_every_unit_test_has_a_timeout(tmp_path):
    body = """
        import time


        def test_hangs():
            time.sleep(60)
    """
    import conftest

    conftest_timeout = conftest.UNIT_TIMEOUT
    assert 60 <= conftest_timeout <= 900
    result = _run_pytest(
        tmp_path,
        "import conftest\nconftest.UNIT_TIMEOUT = 1\n" + textwrap.dedent(body),
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert "1 failed" in result.stdout and "Timeout" in result.stdout, result.stdout[-3000:]
