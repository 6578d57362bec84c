"""Vuelve a ejecutar cuadernos en un núcleo nuevo y guarda sus salidas en el mismo archivo.

Así se actualizan las salidas que guarda el libro (``make execute``; ``make execute
NB=book/02_teoria.ipynb`` para uno solo). Cada cuaderno se ejecuta desde su carpeta, con el
intérprete del entorno actual, y se guarda solo si termina sin errores. Antes de guardarlo se
quitan de su salida de errores las líneas del registro en C++ de TensorFlow (avisos de oneDNN,
de ``absl``...), que dependen de la máquina y que ``TF_CPP_MIN_LOG_LEVEL`` no siempre silencia.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TIMEOUT = 600

#: Líneas del registro en C++ de TensorFlow: «I0000 00:00:... 123 port.cc:153] ...» y sus avisos.
TF_LOG_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] .*"
    r"|To enable the following instructions:.*)$"
)


def strip_tf_logs(nb) -> int:
    """Quita de las salidas ``stderr`` de ``nb`` las líneas del registro de TensorFlow; devuelve
    cuántas quitó. Una salida que queda vacía se elimina entera."""
    removed = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                lines = out.text.splitlines(keepends=True)
                clean = [line for line in lines if not TF_LOG_LINE.match(line.rstrip("\n"))]
                removed += len(lines) - len(clean)
                if not "".join(clean).strip():
                    continue
                out.text = "".join(clean)
            kept.append(out)
        cell.outputs = kept
    return removed


def execute(path: Path) -> float:
    """Ejecuta ``path`` en su sitio y devuelve los segundos que tardó."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    strip_tf_logs(nb)
    nbformat.write(nb, path)
    return seconds


def main(paths: list[str]) -> int:
    if not paths:
        print("Uso: python tools/execute_notebooks.py CUADERNO.ipynb [...]", file=sys.stderr)
        return 2
    for name in paths:
        path = Path(name)
        print(f"Ejecutando {path} ...", flush=True)
        print(f"  {execute(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
