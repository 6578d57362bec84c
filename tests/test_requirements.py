"""El entorno fijado: requirements.txt, su regeneración (tools/) y el entorno instalado."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import regenerate_requirements as regen
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "requirements.txt").read_text(encoding="utf-8")


def test_requirements_has_the_form_the_regeneration_script_writes():
    assert regen.main(["--check"]) == 0
    assert "Editable Git install" not in TEXT
    assert TEXT.splitlines()[-1] == "-e ." and TEXT.count("-e ") == 1


def test_every_request_is_pinned_and_satisfied():
    pins = {regen.canonical(k): v for k, v in regen.parse(TEXT).items()}
    for line in regen.requests():
        request = Requirement(line)
        name = regen.canonical(request.name)
        assert name in pins, f"{request.name} se pide en tools/requirements.in y no está fijado"
        assert request.specifier.contains(pins[name], prereleases=True), (line, pins[name])


def test_installed_environment_matches_the_pins():
    """El entorno en el que corren las pruebas es el de requirements.txt, versión a versión."""
    wrong = {}
    for line in TEXT.splitlines():
        if not regen.PIN.match(line):
            continue
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pinned = str(requirement.specifier).removeprefix("==")
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != pinned:
            wrong[requirement.name] = (pinned, installed)
    assert wrong == {}, f"paquetes con otra versión que la fijada (fijada, instalada): {wrong}"


def test_makefile_pins_pip_and_checks_python():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^PIP_VERSION := \d+(\.\d+)+$", makefile, re.M)
    assert "pip install --quiet pip==$(PIP_VERSION)" in makefile
    assert "sys.version_info < (3, 11)" in makefile and "Python 3.11 o posterior" in makefile
    # La huella del entorno incluye la versión de Python, en el Makefile y en .ci/run.
    assert "{ cat requirements.txt; $(PYTHON) --version; } | sha256sum" in makefile
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "{ cat requirements.txt; python3 --version; } | sha256sum" in ci
