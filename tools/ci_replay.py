"""Los pasos de ``.github/workflows/tests.yml``, ejecutados aquí en un clon nuevo.

Uso::

    python tools/ci_replay.py              # clona este repositorio (HEAD) y ejecuta los pasos
    python tools/ci_replay.py --dry-run    # solo muestra los pasos, tal como se ejecutarían
    python tools/ci_replay.py --env MAKEFLAGS="NOTEBOOKS=book/02_teoria.ipynb"   # una prueba corta

Lee el flujo de trabajo con PyYAML y ejecuta **el texto exacto** de cada paso ``run`` con el
mismo intérprete que GitHub (``bash --noprofile --norc -eo pipefail``, por ``defaults.run.shell:
bash``), en orden, en un clon recién hecho de ``HEAD`` (``git clone``: lo que no esté confirmado
no cuenta), con las variables del trabajo (``env``) y los archivos ``GITHUB_ENV``,
``GITHUB_OUTPUT`` y ``GITHUB_PATH`` que GitHub ofrece a los pasos: lo que un paso escribe en
ellos lo ven los siguientes. Los pasos ``uses`` no se pueden ejecutar aquí; se sustituyen por lo
que hacen: ``actions/checkout`` es el clon, ``actions/setup-python`` exige que ``python3`` sea de
la versión pedida y ``actions/cache`` no hace nada (aquí el entorno y los datos ya están en
disco). Cualquier otra acción, una expresión ``${{ }}`` dentro de un ``run`` o una condición
``if:`` detienen la reproducción: el flujo debe seguir siendo reproducible aquí.

Termina con el código del primer paso que falle (o 0). Así el flujo de trabajo no puede alejarse
de lo que pasa en esta máquina.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "tests.yml"
#: El intérprete de GitHub para ``shell: bash`` ({0} es el archivo del guion).
SHELLS = {"bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"]}
#: Acciones que se sustituyen aquí por lo que hacen.
KNOWN_ACTIONS = ("actions/checkout", "actions/setup-python", "actions/cache")
#: Variables del entorno de quien llama que no pasan a los pasos.
DROP_ENV = ("PYTHONPATH", "VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


class WorkflowError(ValueError):
    """El flujo de trabajo tiene algo que no se puede reproducir aquí."""


@dataclass
class Step:
    """Un paso de un trabajo: ``run`` (un guion) o ``uses`` (una acción)."""

    index: int
    name: str
    run: str | None = None
    uses: str | None = None
    shell: str = "bash"
    env: dict[str, str] = field(default_factory=dict)
    with_: dict[str, str] = field(default_factory=dict)
    id: str | None = None
    working_directory: str | None = None


@dataclass
class Job:
    """Un trabajo del flujo: sus variables y sus pasos."""

    name: str
    runs_on: str
    env: dict[str, str]
    steps: list[Step]


def _strings(mapping) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in (mapping or {}).items()}


def triggers(workflow: dict) -> list[str]:
    """Los eventos del flujo (PyYAML lee la clave ``on`` como ``True``)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return [on]
    if isinstance(on, list):
        return [str(e) for e in on]
    return [str(e) for e in (on or {})]


def load_job(path: Path = WORKFLOW, job: str | None = None) -> Job:
    """Lee el trabajo ``job`` (o el único) de ``path``."""
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    jobs = workflow.get("jobs") or {}
    if job is None:
        if len(jobs) != 1:
            raise WorkflowError(f"{path.name} tiene {len(jobs)} trabajos: indique uno con --job")
        job = next(iter(jobs))
    if job not in jobs:
        raise WorkflowError(f"{path.name} no tiene el trabajo «{job}»")
    spec = jobs[job]
    default_shell = (((workflow.get("defaults") or {}).get("run") or {}).get("shell")) or "bash"
    job_shell = (((spec.get("defaults") or {}).get("run") or {}).get("shell")) or default_shell
    env = {**_strings(workflow.get("env")), **_strings(spec.get("env"))}
    steps = []
    for i, raw in enumerate(spec.get("steps") or [], start=1):
        if "if" in raw:
            raise WorkflowError(f"paso {i}: las condiciones «if:» no se pueden reproducir aquí")
        name = raw.get("name") or raw.get("uses") or next(
            iter((raw.get("run") or "").strip().splitlines()), f"paso {i}")
        step = Step(
            index=i,
            name=str(name),
            run=raw.get("run"),
            uses=raw.get("uses"),
            shell=raw.get("shell") or job_shell,
            env=_strings(raw.get("env")),
            with_=_strings(raw.get("with")),
            id=raw.get("id"),
            working_directory=raw.get("working-directory"),
        )
        if step.run is not None:
            if step.shell not in SHELLS:
                raise WorkflowError(f"paso {i} («{step.name}»): intérprete «{step.shell}» no admitido")
            found = EXPRESSION.findall(step.run)
            if found:
                raise WorkflowError(
                    f"paso {i} («{step.name}»): el guion usa expresiones {found}; use variables "
                    "de entorno para que se pueda reproducir aquí"
                )
        elif step.uses is None:
            raise WorkflowError(f"paso {i}: ni «run» ni «uses»")
        steps.append(step)
    return Job(name=job, runs_on=str(spec.get("runs-on")), env=env, steps=steps)


def run_steps(job: Job) -> list[Step]:
    """Solo los pasos ``run``: los que se ejecutan tal cual."""
    return [s for s in job.steps if s.run is not None]


def _read_env_file(path: Path) -> dict[str, str]:
    """``NOMBRE=valor`` por línea, y la forma de varias líneas ``NOMBRE<<DELIM``."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            i += 1
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        i += 1
    return values


def _uses(step: Step, env: dict[str, str]) -> str:
    """Lo que hace aquí una acción conocida; lanza si no se puede sustituir."""
    action = step.uses.split("@", 1)[0]
    if action == "actions/checkout":
        return "el clon nuevo"
    if action == "actions/setup-python":
        want = step.with_.get("python-version", "")
        got = subprocess.run(["python3", "--version"], capture_output=True, text=True,
                             env=env).stdout.split()[-1]
        if want and not (got == want or got.startswith(want + ".")):
            raise WorkflowError(f"el flujo pide Python {want}; aquí python3 es {got}")
        return f"python3 {got}"
    if action == "actions/cache":
        return "sin caché: aquí el entorno y los datos ya están en disco"
    raise WorkflowError(f"paso {step.index}: la acción «{step.uses}» no se puede reproducir aquí")


def replay(job: Job, workdir: Path, extra_env: dict[str, str] | None = None,
           out=sys.stdout) -> int:
    """Ejecuta los pasos de ``job`` en ``workdir``; devuelve el código del primero que falle."""
    runner = Path(tempfile.mkdtemp(prefix="ci-runner-"))
    files = {k: runner / k.lower() for k in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH")}
    for f in files.values():
        f.touch()
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV and not k.startswith("GITHUB_")}
    env.update(job.env)
    env.update({"GITHUB_WORKSPACE": str(workdir), "RUNNER_OS": "Linux", "RUNNER_TEMP": str(runner),
                **{k: str(v) for k, v in files.items()}})
    env.update(extra_env or {})
    try:
        for step in job.steps:
            env.update(_read_env_file(files["GITHUB_ENV"]))
            paths = [p for p in files["GITHUB_PATH"].read_text().splitlines() if p]
            if paths:
                env["PATH"] = os.pathsep.join([*reversed(paths), os.environ.get("PATH", "")])
            header = f"== Paso {step.index}: {step.name}"
            if step.uses:
                print(f"{header} ({step.uses}: {_uses(step, env)})", file=out, flush=True)
                continue
            print(header, file=out, flush=True)
            script = runner / f"paso-{step.index}.sh"
            script.write_text(step.run, encoding="utf-8")
            files["GITHUB_OUTPUT"].write_text("")
            command = [part.replace("{0}", str(script)) for part in SHELLS[step.shell]]
            cwd = workdir / (step.working_directory or ".")
            start = time.perf_counter()
            done = subprocess.run(command, cwd=cwd, env={**env, **step.env})
            seconds = time.perf_counter() - start
            if done.returncode != 0:
                print(f"== FALLA el paso {step.index} («{step.name}»), código {done.returncode}, "
                      f"{seconds:.0f} s", file=out, flush=True)
                return done.returncode
            print(f"   correcto ({seconds:.0f} s)", file=out, flush=True)
        print(f"== {len(run_steps(job))} pasos run de «{job.name}» correctos", file=out, flush=True)
        return 0
    finally:
        shutil.rmtree(runner, ignore_errors=True)


def fresh_clone(source: Path, target: Path, ref: str = "HEAD") -> Path:
    """Un clon nuevo de ``source`` en ``target``, en ``ref``, sin enlaces al original."""
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(source), str(target)],
                   check=True)
    commit = subprocess.run(["git", "-C", str(source), "rev-parse", ref], capture_output=True,
                            text=True, check=True).stdout.strip()
    subprocess.run(["git", "-C", str(target), "checkout", "--quiet", "--detach", commit],
                   check=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflow", type=Path, default=WORKFLOW)
    parser.add_argument("--job", default=None)
    parser.add_argument("--ref", default="HEAD", help="qué confirmar en el clon (por defecto HEAD)")
    parser.add_argument("--env", action="append", default=[], metavar="NOMBRE=VALOR",
                        help="variable más para los pasos (p. ej. MAKEFLAGS=NOTEBOOKS=...)")
    parser.add_argument("--keep", action="store_true", help="conserva el clon")
    parser.add_argument("--dry-run", action="store_true", help="solo muestra los pasos")
    args = parser.parse_args(argv)
    try:
        job = load_job(args.workflow, args.job)
    except WorkflowError as exc:
        print(f"{args.workflow}: {exc}", file=sys.stderr)
        return 2
    extra = dict(item.split("=", 1) for item in args.env)
    if args.dry_run:
        print(f"Trabajo «{job.name}» ({job.runs_on}), variables {job.env}")
        for step in job.steps:
            what = f"uses {step.uses}" if step.uses else "run"
            print(f"-- Paso {step.index}: {step.name} [{what}]")
            if step.run:
                print(textwrap_indent(step.run))
        return 0
    where = Path(tempfile.mkdtemp(prefix="ci-replay-"))
    clone = fresh_clone(ROOT, where / ROOT.name, args.ref)
    print(f"== Clon nuevo de {ROOT} ({args.ref}) en {clone}", flush=True)
    try:
        return replay(job, clone, extra)
    except WorkflowError as exc:
        print(f"== {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"   (clon conservado en {clone})")
        else:
            shutil.rmtree(where, ignore_errors=True)


def textwrap_indent(text: str) -> str:
    return "\n".join("   " + line for line in text.rstrip().splitlines())


if __name__ == "__main__":
    sys.exit(main())
