"""Regenera ``requirements.txt`` con una sola resolución de pip a partir de ``tools/requirements.in``.

Uso, en una máquina con internet, Linux x86_64 y la versión de Python del curso::

    python3.11 tools/regenerate_requirements.py

El guion crea un entorno temporal con ese Python, instala el pip fijado en el Makefile
(``PIP_VERSION``), instala las peticiones de ``tools/requirements.in`` en una sola orden,
congela el resultado con ``pip freeze --exclude-editable`` (así no aparece el comentario
``# Editable Git install with no remote`` ni el propio ``bncourse``) y escribe
``requirements.txt``: la cabecera, los paquetes ordenados por su nombre normalizado, la marca de
plataforma de los paquetes de CUDA y, al final, ``-e .`` (el paquete del propio clon).

``python3 tools/regenerate_requirements.py --check`` solo comprueba, sin red, que
``requirements.txt`` tiene exactamente la forma que escribiría este guion.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = ROOT / "tools" / "requirements.in"
TARGET = ROOT / "requirements.txt"
CUDA_MARKER = 'platform_system == "Linux" and platform_machine == "x86_64"'
CUDA_PACKAGES = re.compile(r"^(nvidia-|cuda-|triton$)")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)(\s*;.*)?$")


def canonical(name: str) -> str:
    """Nombre normalizado (PEP 503): minúsculas y ``-`` en lugar de ``_`` y ``.``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requests() -> list[str]:
    lines = REQUESTS.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def header(reqs: list[str]) -> list[str]:
    quoted = [f'"{r}"' if re.search(r"[<>]", r) else r for r in reqs]
    wrapped, line = [], "#  "
    for item in quoted:
        if len(line) + 1 + len(item) > 98:
            wrapped.append(line)
            line = "#  "
        line += " " + item
    wrapped.append(line)
    return [
        "# Entorno completo del curso: renderizar, ejecutar y probar el libro.",
        "# Generado con una sola resolución de pip (pip freeze) a partir de estas peticiones:",
        *wrapped,
        "# Las ruedas de PyTorch para Linux x86_64 son compilaciones con CUDA (unos 7,5 GB en total);",
        "# los paquetes nvidia-*, cuda-* y triton solo se instalan en esa plataforma.",
    ]


def render(pins: dict[str, str], reqs: list[str]) -> str:
    """El texto de ``requirements.txt`` para ``pins`` (nombre tal como lo da pip -> versión)."""
    lines = header(reqs)
    for name in sorted(pins, key=canonical):
        line = f"{name}=={pins[name]}"
        if CUDA_PACKAGES.match(canonical(name)):
            line += f" ; {CUDA_MARKER}"
        lines.append(line)
    lines.append("-e .")
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, str]:
    """Las versiones fijadas de un ``requirements.txt`` o de la salida de ``pip freeze``."""
    pins = {}
    for line in text.splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def pip_version() -> str:
    match = re.search(r"^PIP_VERSION\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    if match is None:
        raise SystemExit("No se encontró PIP_VERSION en el Makefile.")
    return match.group(1)


def freeze() -> str:
    if sys.version_info < (3, 11):  # noqa: UP036 - el guion puede correr con otro Python
        raise SystemExit("Hace falta Python 3.11 o posterior.")
    with tempfile.TemporaryDirectory(prefix="bncourse-requirements-") as tmp:
        python = Path(tmp) / "venv" / "bin" / "python"
        subprocess.run([sys.executable, "-m", "venv", str(python.parents[1])], check=True)
        pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
        subprocess.run([*pip, "install", "--quiet", f"pip=={pip_version()}"], check=True)
        subprocess.run([*pip, "install", "--quiet", "-r", str(REQUESTS)], check=True)
        return subprocess.run(
            [*pip, "freeze", "--exclude-editable"], check=True, capture_output=True, text=True
        ).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="solo comprobar la forma, sin red")
    args = parser.parse_args(argv)
    current = TARGET.read_text(encoding="utf-8")
    if args.check:
        expected = render(parse(current), requests())
        if expected != current:
            print("requirements.txt no tiene la forma que escribe este guion.", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(render(parse(freeze()), requests()), encoding="utf-8")
    print(f"Escrito {TARGET.relative_to(ROOT)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
