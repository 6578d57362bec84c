"""El README no puede alejarse de lo que hace la integración continua.

Regla: las dos primeras órdenes ``make ...`` que aparecen en los bloques de código de
``README.md`` son ``make book`` y ``make test``, por ese orden, y ``.ci/run`` ejecuta
``make test``. Si el README cambia de orden o CI pasa a ejecutar otra cosa, esta prueba falla.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"

_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n(.*?)^\1\s*$", re.M | re.S)
_MAKE = re.compile(r"(?:^|[\s;&|($`])(make(?:\s+[A-Za-z_][\w.-]*(?:=\S*)?)*)")


def make_commands(markdown: str) -> list[str]:
    """Órdenes ``make`` de los bloques de código de ``markdown``, en orden de aparición.

    Cada orden se normaliza a ``make`` más sus objetivos (sin variables ``X=y``), y se ignoran
    las líneas de comentario (``# ...``).
    """
    commands = []
    for block in _FENCE.finditer(markdown):
        for line in block.group(2).splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            line = re.sub(r"^\$\s*", "", line)  # indicador de consola
            commands.extend(_commands_in(line))
    return commands


def _commands_in(line: str) -> list[str]:
    commands = []
    for match in _MAKE.finditer(line):
        words = [w.rstrip(".,;:") for w in match.group(1).split() if "=" not in w]
        commands.append(" ".join(words))
    return commands


def ci_make_commands(script: str) -> list[str]:
    """Órdenes ``make`` que ejecuta un guion de shell (sin comentarios ni variables)."""
    commands = []
    for line in script.splitlines():
        commands.extend(_commands_in(line.split("#", 1)[0].strip()))
    return commands


def test_make_commands_parser():
    text = (
        "Texto con `make lab` en línea, que no cuenta.\n\n"
        "```bash\n# make clean es un comentario\n$ make book\nmake test VENV=/tmp/v\n```\n\n"
        "```\nmake lab\nMakefile   órdenes: make clean.\n```\n"
    )
    assert make_commands(text) == ["make book", "make test", "make lab", "make clean"]
    assert ci_make_commands('# make book\nmake test VENV="$venv"\n') == ["make test"]


def test_readme_first_commands_are_book_and_test():
    if not README.is_file():
        pytest.fail("Falta README.md en la raíz del repositorio.")
    commands = make_commands(README.read_text(encoding="utf-8"))
    assert commands[:2] == ["make book", "make test"], (
        "Las dos primeras órdenes make de los bloques de código del README deben ser "
        f"«make book» y «make test»; son {commands[:2]}."
    )


def test_ci_runs_make_test():
    commands = ci_make_commands(CI.read_text(encoding="utf-8"))
    assert "make test" in commands, f".ci/run no ejecuta «make test» (ejecuta {commands})."
