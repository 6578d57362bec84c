"""Resume entre semillas las cifras que citan los capítulos (``_build/seeds/tabla.md``).

Cada capítulo anota con ``bncourse.record_figure`` las cifras que cita su texto; con
``BNCOURSE_FIGURES_DIR`` definida (``make notebooks``, ``make seeds``) quedan en
``<carpeta>/<capítulo>-semilla<N>.json``. Este guion junta esos archivos y escribe, por
capítulo y cifra, el valor de cada semilla, el mínimo y el máximo.

Uso: ``python tools/seed_table.py [_build/seeds]``
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILE_RE = re.compile(r"^(?P<chapter>.+)-semilla(?P<seed>\d+)\.json$")


def collect(folder: Path) -> dict[str, dict[str, dict[int, float]]]:
    """``{capítulo: {cifra: {semilla: valor}}}`` a partir de los JSON de ``folder``."""
    table: dict[str, dict[str, dict[int, float]]] = {}
    for path in sorted(folder.glob("*-semilla*.json")):
        match = FILE_RE.match(path.name)
        if not match:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        chapter = table.setdefault(match["chapter"], {})
        for name, value in data.items():
            chapter.setdefault(name, {})[int(match["seed"])] = float(value)
    return table


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def render(table: dict[str, dict[str, dict[int, float]]]) -> str:
    """Tabla en Markdown: una fila por cifra, con cada semilla, el mínimo y el máximo."""
    seeds = sorted({s for chapter in table.values() for values in chapter.values() for s in values})
    if not seeds:
        return "No hay cifras anotadas (¿se ejecutaron los capítulos con BNCOURSE_FIGURES_DIR?)."
    head = ["capítulo", "cifra", *(f"semilla {s}" for s in seeds), "mínimo", "máximo"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for chapter, figures in sorted(table.items()):
        for name, values in figures.items():
            cells = [_fmt(values[s]) if s in values else "" for s in seeds]
            row = [chapter, name, *cells, _fmt(min(values.values())), _fmt(max(values.values()))]
            # Una «|» dentro de una celda partiría la fila de Markdown en dos columnas.
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


def write(folder: Path) -> Path:
    """Escribe ``folder/tabla.md`` y devuelve su ruta."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "tabla.md"
    out.write_text(render(collect(folder)) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "_build" / "seeds"
    print(render(collect(folder)))
    print(f"\nEscrita en {write(folder)}")
