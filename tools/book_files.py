"""Lista los archivos del libro según _toc.yml (para el Makefile y las pruebas).

Uso: ``python tools/book_files.py notebooks`` imprime los cuadernos en orden de lectura;
``python tools/book_files.py pages`` imprime todas las páginas (``.md`` e ``.ipynb``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _walk(node, out: list[str]) -> None:
    if isinstance(node, dict):
        for key in ("root", "file"):
            if key in node:
                out.append(node[key])
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                _walk(child, out)
    elif isinstance(node, list):
        for child in node:
            _walk(child, out)


def toc_pages(root: Path = ROOT) -> list[Path]:
    """Páginas del índice, en orden de lectura, con su extensión real."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    names: list[str] = []
    _walk(toc, names)
    pages = []
    for name in names:
        for suffix in (".ipynb", ".md"):
            candidate = root / f"{name}{suffix}"
            if candidate.is_file():
                pages.append(candidate)
                break
        else:
            raise FileNotFoundError(f"_toc.yml cita «{name}», que no existe como .ipynb ni .md")
    return pages


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """Cuadernos del índice, en orden de lectura."""
    return [p for p in toc_pages(root) if p.suffix == ".ipynb"]


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "notebooks"
    files = toc_notebooks() if what == "notebooks" else toc_pages()
    print(" ".join(str(p.relative_to(ROOT)) for p in files))
