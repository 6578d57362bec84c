"""El paquete declara lo que importa: cada módulo de terceros está en ``pyproject.toml``."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bncourse"
# Nombre con que se importa → nombre de la distribución en PyPI, cuando no coinciden.
DISTRIBUTION = {"PIL": "pillow", "tensorflow": "tensorflow-cpu"}
# seed_everything fija las semillas de PyTorch y TensorFlow solo si el proceso ya los cargó:
# los importa dentro de una comprobación de sys.modules, sin necesitarlos.
ALREADY_LOADED = {"bncourse/reproducibility.py": {"torch", "keras", "tensorflow-cpu"}}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def _third_party_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return {n for n in found if n not in sys.stdlib_module_names and n != "bncourse"}


def test_every_import_is_declared():
    project = _pyproject()["project"]
    core = _names(project["dependencies"])
    extras = {k: _names(v) for k, v in project["optional-dependencies"].items()}
    missing = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = path.relative_to(PACKAGE).parts[0]
        declared = core | extras.get(layer, set())
        needed = {DISTRIBUTION.get(n, n).lower() for n in _third_party_imports(path)}
        needed -= ALREADY_LOADED.get(str(path.relative_to(ROOT)), set())
        if needed - declared:
            missing[str(path.relative_to(ROOT))] = sorted(needed - declared)
    assert missing == {}, f"importaciones sin declarar en pyproject.toml: {missing}"


def test_core_layer_needs_no_framework():
    core = _names(_pyproject()["project"]["dependencies"])
    assert not core & {"torch", "torchvision", "tensorflow", "tensorflow-cpu", "keras"}


def test_package_is_typed():
    """``py.typed`` (PEP 561) se instala con el paquete y mypy revisa todo ``bncourse``."""
    assert (PACKAGE / "py.typed").is_file()
    config = _pyproject()["tool"]
    assert "py.typed" in config["setuptools"]["package-data"]["bncourse"]
    assert config["mypy"]["files"] == ["bncourse"]
    assert config["mypy"]["disallow_untyped_defs"] is True
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lint = makefile[makefile.index("\nlint:") :].split("\n\n")[0]
    assert "$(VENV)/bin/mypy" in lint


def test_torch_layer_exports_every_public_name_and_help_lists_them():
    import importlib
    import pkgutil
    import pydoc

    import bncourse.torch as bt

    for info in pkgutil.iter_modules(bt.__path__):
        module = importlib.import_module(f"bncourse.torch.{info.name}")
        missing = sorted(
            set(getattr(module, "__all__", [])) - set(bt.__all__) - {"evaluate_tensors"}
        )
        assert missing == [], f"bncourse.torch no exporta {missing} de {info.name}"
    text = pydoc.render_doc(bt, renderer=pydoc.plaintext)
    for name in bt.__all__:
        assert getattr(bt, name) is not None
        assert name in text, name
