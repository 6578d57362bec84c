"""``make lab``: arranca Jupyter Lab con cualquier usuario (también root), sin abrir un navegador,
y escribe la URL que hay que abrir. La prueba lo arranca, lee la URL, comprueba que responde y
lo detiene."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
URL = re.compile(r"(http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-f]+))")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="hace falta make")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lab_flags_depend_on_the_user():
    dry = subprocess.run(["make", "--no-print-directory", "-n", "lab", "LAB_PORT=9999"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout
    command = next(line for line in dry.splitlines() if "jupyter lab" in line)
    assert "--no-browser" in command and "--ServerApp.ip=127.0.0.1" in command
    assert "--ServerApp.port=9999" in command
    assert ("--allow-root" in command) == (os.getuid() == 0)


def test_make_lab_starts_prints_the_url_and_stops(tmp_path):
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_PORT={port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # su propio grupo: se detiene make y Jupyter juntos
    )
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        url = None
        deadline = time.monotonic() + 180
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            seen.append(line)
            match = URL.search(line)
            if match:
                url = match.group(1)
        log = "".join(seen)
        assert url is not None, f"make lab no escribió la URL (código {proc.poll()}):\n{log}"
        assert int(URL.search(url).group(2)) == port
        assert "Running as root is not recommended" not in log
        assert "abra en su navegador la dirección" in log
        token = URL.search(url).group(3)
        # Jupyter escribe la URL un instante antes de aceptar conexiones: se reintenta.
        for _ in range(60):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}",
                                            timeout=30) as response:
                    assert response.status == 200
                break
            except urllib.error.URLError:
                time.sleep(0.5)
        else:
            pytest.fail(f"Jupyter Lab no responde en {url}:\n{log}")
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
    assert proc.poll() is not None
