"""Ortografía del libro (véase ``tools/spelling.py``).

Necesitan hunspell con los diccionarios ``es_ES`` y ``en_US`` (paquetes de Debian
``hunspell``, ``hunspell-es`` y ``hunspell-en-us``). Llevan la marca ``spelling``: ``make unit``
no las ejecuta; ``make spelling`` (dentro de ``make test``) sí.
"""

from __future__ import annotations

import json

import pytest
import spelling
from book_files import toc_pages

pytestmark = pytest.mark.spelling


def _words(unknown):
    return sorted({u.word for u in unknown})


def test_book_has_no_unknown_words(capsys):
    unknown = spelling.check_book()
    with capsys.disabled():
        print(
            f"\nOrtografía: {len(spelling.markdown_sources())} textos de {len(toc_pages())} "
            f"páginas revisados; {len(unknown)} palabras desconocidas."
        )
    assert not unknown, (
        "Palabras que hunspell (es_ES) no conoce. Corrija la errata o, si es un término "
        "técnico o un nombre propio legítimo, añádalo a tests/wordlist-es.txt:\n"
        + "\n".join(map(str, unknown))
    )


def test_checker_flags_misspelt_words():
    text = (
        "La normalizacion por lotes usa la media del minilote.\n"
        "Una palabra bien escrita y otra mal escrita: desviacion.\n"
    )
    unknown = spelling.check_texts([("prueba.md", text)])
    assert _words(unknown) == ["desviacion", "normalizacion"]
    places = {u.word: u.where for u in unknown}
    assert places["normalizacion"] == "prueba.md, línea 1"
    assert places["desviacion"] == "prueba.md, línea 2"


def test_checker_flags_misspelt_words_in_italics_and_directives():
    text = (
        "La normalización por lotes (*batch normalizaton*, BN).\n"
        "\n"
        "```{exercise} Un títlo\n"
        ":label: ej-prueba\n"
        "\n"
        "Calcule la varainza.\n"
        "```\n"
    )
    unknown = spelling.check_texts([("prueba.md", text)])
    assert _words(unknown) == ["normalizaton", "títlo", "varainza"]
    places = {u.word: u.where for u in unknown}
    assert places["normalizaton"] == "prueba.md, línea 1 (cursiva)"
    assert places["varainza"] == "prueba.md, línea 6"


def test_checker_skips_code_math_urls_roles_and_labels():
    text = (
        "(sec-etiqueta)=\n"
        "# Título\n"
        "\n"
        "Texto con `codigo_en_linea(xq)` y {cite:p}`ioffe2015batch` y {numref}`fig-xyzw`,\n"
        "una fórmula $\\hat{x}_i = \\frac{x_i - \\mu}{\\sigma}$ que sigue\n"
        "en otra línea $a +\n"
        "b_{qwz}$, un enlace [a la documentación](https://example.org/ruta/qwerty) y\n"
        "<https://example.org/zxcv>. El término {term}`minilote` se revisa.\n"
        "\n"
        "$$\n"
        "\\operatorname{Var}[x] = \\mathbb{E}[x^2]\n"
        "$$\n"
        "\n"
        "```python\n"
        "variabel_mal_escrita = 1\n"
        "```\n"
        "\n"
        "```{figure} ../_static/figura_xyz.png\n"
        ":name: fig-xyzw\n"
        "\n"
        "Una leyenda correcta.\n"
        "```\n"
        "\n"
        "\\begin{align}\n"
        "a &= b \\\\ qwfp\n"
        "\\end{align}\n"
    )
    assert spelling.check_texts([("prueba.md", text)]) == []


def test_term_role_text_is_checked():
    unknown = spelling.check_texts([("p.md", "Use el {term}`minilotte <Minilote>` siempre.")])
    assert _words(unknown) == ["minilotte"]


def test_notebook_markdown_cells_are_checked(tmp_path):
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Capítulo\n", "Bien.\n"]},
            {
                "cell_type": "code",
                "metadata": {},
                "source": ["erorr_en_codigo = 1"],
                "outputs": [],
                "execution_count": None,
            },
            {"cell_type": "markdown", "metadata": {}, "source": ["Un eror aquí."]},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "cap.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    (tmp_path / "book" / "intro.md").write_text("# Introducción\n", encoding="utf-8")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/cap\n", encoding="utf-8"
    )
    unknown = spelling.check_book(tmp_path)
    assert [str(u) for u in unknown] == ["book/cap.ipynb, celda 2, línea 1: «eror»"]


def test_wordlist_is_sorted_unique_and_needed():
    """La lista del proyecto: ordenada (``LC_ALL=C sort -u``) y sin palabras que el
    diccionario español ya conoce."""
    lines = spelling.WORDLIST.read_text(encoding="utf-8").splitlines()
    assert all(line.strip() == line and line for line in lines), "líneas vacías o con espacios"
    assert lines == sorted(set(lines)), "ordene la lista con «LC_ALL=C sort -u»"
    assert spelling.redundant_words() == [], "estas palabras ya están en el diccionario es_ES"
