"""Un capítulo en un Colab simulado: un entorno nuevo sin bncourse, de principio a fin.

Uso: ``python tools/colab_check.py book/02_teoria.ipynb`` (``make colab-check NB=...``).

Qué simula:

- **Lo que trae Colab**: un entorno virtual con torch, torchvision, TensorFlow, matplotlib,
  NumPy, pandas y tqdm, en las versiones de ``requirements.txt`` (``tensorflow-cpu``, la de esta
  plataforma), más nbclient e ipykernel para ejecutar el cuaderno; nada más: ni bncourse, ni
  Jupyter Book. Es pesado (las ruedas de PyTorch traen CUDA, unos 7.5 GB), así que se crea una
  sola vez fuera del clon, en ``~/.cache/bncourse/colab-sim-<huella>`` (o ``$XDG_CACHE_HOME``),
  y se reutiliza; la huella son las versiones de esos paquetes y la de Python. Si cambia otra
  versión de ``requirements.txt``, se pone al día en su sitio. Las copias de otras huellas se
  borran: solo se guarda una.
- **Un entorno de ejecución nuevo en cada comprobación**: un entorno virtual vacío, en una
  carpeta temporal, que ve los paquetes del anterior (un archivo ``.pth``) pero instala en el
  suyo; así lo que instale la celda de instalación desaparece al terminar y el entorno pesado
  no cambia (se comprueba).
- **La fuente de instalación**: ``BNCOURSE_INSTALL_SOURCE`` apunta a una copia de los archivos
  del clon (los de git, también los nuevos no ignorados), para que la instalación no escriba en
  él; ``BNCOURSE_DATA_DIR`` a los datos, si está definida (en Colab los cargadores los
  descargan y verifican). Sin ``PYTHONPATH``: ``bncourse`` solo puede venir de la instalación.
- Se ejecuta con nbclient, en una carpeta vacía (como ``/content`` en Colab), celda a celda,
  sin comparar salidas: falla si una celda lanza una excepción. El cuaderno ejecutado queda en
  ``_build/colab/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Lo que trae Colab (con el nombre del paquete de TensorFlow de esta plataforma).
COLAB = ["torch", "torchvision", "tensorflow-cpu", "matplotlib", "numpy", "pandas", "tqdm"]
#: Lo necesario para ejecutar el cuaderno.
RUNNER = ["nbclient", "ipykernel"]
CELL_TIMEOUT = 900
PASS_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "TMPDIR", "XDG_CACHE_HOME") + tuple(
    k for k in os.environ if k.startswith("PIP_")
)

RUN_NOTEBOOK = """\
import json, sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

source, target, cwd, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
nb = nbformat.read(source, as_version=4)
client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                        resources={"metadata": {"path": cwd}})
start = time.perf_counter()
error = None
try:
    client.execute()
except CellExecutionError as exc:
    error = str(exc)
nbformat.write(nb, target)
code = [c for c in nb.cells if c.cell_type == "code"]
first = "".join(o.get("text", "") for o in code[0].outputs if o.output_type == "stream")
ran = sum(1 for c in code if c.execution_count is not None)
print(json.dumps({"seconds": time.perf_counter() - start, "cells": len(code), "ran": ran,
                  "error": error, "first_output": first}))
"""


def _pins(requirements: Path = ROOT / "requirements.txt") -> dict[str, str]:
    """Las líneas de ``requirements.txt`` con versión fija, por nombre normalizado."""
    pins = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-") or "==" not in line:
            continue
        name = line.split("==", 1)[0].strip()
        pins[name.lower().replace("_", "-").replace(".", "-")] = line
    return pins


def base_dir(pins: dict[str, str]) -> Path:
    """Carpeta del entorno pesado: su huella son las versiones de lo que trae Colab y Python."""
    wanted = [pins[p] for p in COLAB + RUNNER]
    key = "\n".join([*wanted, sys.version.split()[0]])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "bncourse" / f"colab-sim-{digest}"


def _site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        raise RuntimeError(f"{venv} no tiene site-packages")
    return found[0]


def ensure_base(pins: dict[str, str]) -> Path:
    """Crea (una vez) o pone al día el entorno con lo que trae Colab."""
    venv = base_dir(pins)
    constraints = "\n".join(sorted(pins.values())) + "\n"
    stamp = venv / ".colab-sim-constraints.sha256"
    want = hashlib.sha256(constraints.encode()).hexdigest()
    python = venv / "bin" / "python"
    if python.exists() and stamp.is_file() and stamp.read_text().strip() == want:
        return venv
    for old in venv.parent.glob("colab-sim-*"):
        if old != venv and old.is_dir():
            print(f"== Borrando el Colab simulado anterior {old}", flush=True)
            shutil.rmtree(old)
    if not python.exists():
        print(f"== Creando el Colab simulado en {venv} (unos 7.5 GB; varios minutos la primera "
              "vez)", flush=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    else:
        print(f"== Poniendo al día el Colab simulado en {venv}", flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(constraints)
    try:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-qq", "-c", f.name,
             *[pins[p] for p in COLAB + RUNNER]],
            check=True,
        )
    finally:
        os.unlink(f.name)
    probe = subprocess.run([str(python), "-c", "import importlib.util as u; "
                            "print(u.find_spec('bncourse') is None, u.find_spec('jupyter_book') is None)"],
                           capture_output=True, text=True, check=True, env=_clean_env(),
                           cwd=tempfile.gettempdir())
    if probe.stdout.split() != ["True", "True"]:
        raise RuntimeError(f"{venv} tiene bncourse o jupyter_book: no simula Colab")
    stamp.write_text(want + "\n")
    return venv


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.update(extra)
    return env


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def copy_checkout(root: Path, target: Path) -> Path:
    """Copia los archivos del clon que git conoce (también los nuevos no ignorados)."""
    files = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, files):
        src = root / name
        if src.is_file():
            dst = target / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    return target


def new_runtime(base: Path, where: Path) -> Path:
    """Un entorno vacío que ve los paquetes de ``base`` y tiene su propio núcleo de Jupyter."""
    venv = where / "runtime"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = _site_packages(venv)
    (site / "colab_sim_base.pth").write_text(str(_site_packages(base)) + "\n")
    kernel = where / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": "Python 3 (Colab simulado)",
        "language": "python",
    }))
    return venv


def check(notebook: Path, keep: bool = False, out_dir: Path = ROOT / "_build" / "colab") -> int:
    notebook = notebook.resolve()
    if not notebook.is_file():
        print(f"No existe el cuaderno {notebook}.", file=sys.stderr)
        return 2
    pins = _pins()
    missing = [p for p in COLAB + RUNNER if p not in pins]
    if missing:
        print(f"requirements.txt no fija {missing}.", file=sys.stderr)
        return 2
    base = ensure_base(pins)
    base_site = _site_packages(base)
    before = _listing(base_site)
    tmp = Path(tempfile.mkdtemp(prefix="colab-sim-"))
    try:
        source = copy_checkout(ROOT, tmp / "fuente")
        runtime = new_runtime(base, tmp)
        content = tmp / "content"
        content.mkdir()
        env = _clean_env(
            BNCOURSE_INSTALL_SOURCE=str(source),
            JUPYTER_PATH=str(tmp / "jupyter"),
            JUPYTER_DATA_DIR=str(tmp / "jupyter-data"),
            JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"),
            IPYTHONDIR=str(tmp / "ipython"),
            MPLCONFIGDIR=str(tmp / "matplotlib"),
            PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        if os.environ.get("BNCOURSE_DATA_DIR"):
            env["BNCOURSE_DATA_DIR"] = os.environ["BNCOURSE_DATA_DIR"]
        python = runtime / "bin" / "python"
        fresh = subprocess.run([str(python), "-c", "import importlib.util as u; "
                                "print(u.find_spec('bncourse') is None)"],
                               capture_output=True, text=True, env=env, cwd=content)
        if fresh.stdout.strip() != "True":
            print(f"El entorno nuevo ya ve bncourse: {fresh.stdout}{fresh.stderr}", file=sys.stderr)
            return 1
        runner = tmp / "ejecutar.py"
        runner.write_text(RUN_NOTEBOOK)
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / notebook.name
        shutil.copy(notebook, content / notebook.name)
        print(f"== {notebook.relative_to(ROOT)} en un Colab simulado (fuente: copia del clon en "
              f"{source}; datos: {env.get('BNCOURSE_DATA_DIR', 'descarga')})", flush=True)
        start = time.perf_counter()
        done = subprocess.run(
            [str(python), str(runner), str(content / notebook.name), str(target), str(content),
             str(CELL_TIMEOUT)],
            capture_output=True, text=True, env=env, cwd=content,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            print(done.stdout + done.stderr, file=sys.stderr)
            return 1
        result = json.loads(done.stdout.strip().splitlines()[-1])
        installed = subprocess.run(
            [str(python), "-c", "import bncourse; print(bncourse.__file__)"],
            capture_output=True, text=True, env=env, cwd=content,
        ).stdout.strip()
        ok = result["error"] is None
        from_runtime = installed.startswith(str(_site_packages(runtime)))
        unchanged = _listing(base_site) == before
        print(f"   celda de instalación: {result['first_output'].strip() or '(sin salida)'}")
        print(f"   bncourse importado de: {installed or '(ninguno)'}"
              f"{'' if from_runtime else '  <- NO es el entorno nuevo'}")
        print(f"   entorno pesado sin cambios: {'sí' if unchanged else 'NO'}")
        print(f"   celdas de código ejecutadas: {result['ran']} de {result['cells']}; "
              f"{seconds:.0f} s; cuaderno ejecutado en {target.relative_to(ROOT)}")
        if not ok:
            print(f"FALLA:\n{result['error']}", file=sys.stderr)
        passed = ok and from_runtime and unchanged and result["ran"] == result["cells"]
        print(f"== colab-check {notebook.name}: {'correcto' if passed else 'FALLA'}")
        return 0 if passed else 1
    finally:
        if keep:
            print(f"   (carpeta temporal conservada: {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--keep", action="store_true", help="conserva la carpeta temporal")
    args = parser.parse_args(argv)
    if sysconfig.get_platform() != "linux-x86_64":
        print("El Colab simulado usa las ruedas de Linux x86-64.", file=sys.stderr)
        return 2
    status = 0
    for nb in args.notebooks:
        status = max(status, check(nb, keep=args.keep))
    return status


if __name__ == "__main__":
    sys.exit(main())
