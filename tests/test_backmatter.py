"""Material de consulta del libro: glosario, bibliografía y convenciones de los capítulos.

Pruebas estáticas sobre las fuentes (no necesitan construir el libro); las que miran el HTML
renderizado están en ``tests/site_check.py``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from book_files import toc_notebooks, toc_pages

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "book" / "glosario.md"
BIBLIOGRAPHY = ROOT / "book" / "bibliografia.md"
BIBTEX = ROOT / "book" / "references.bib"

#: Obras que el curso debe citar siempre (issue 8).
REQUIRED_WORKS = {
    "ioffe2015batch": ("Ioffe", "Szegedy", "2015"),
    "santurkar2018how": ("Santurkar", "2018"),
    "wu2018group": ("Wu", "He", "2018"),
    "ba2016layer": ("Ba", "Hinton", "2016"),
    "ioffe2017batch": ("Ioffe", "2017"),
}

_CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
_TERM = re.compile(r"\{term\}`([^`]+)`")


def spanish_key(text: str) -> str:
    """Clave de orden alfabético español: sin tildes ni mayúsculas, con la ñ tras la n."""
    text = text.casefold().replace("ñ", "n\uffff")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def glossary_terms(markdown: str | None = None) -> list[str]:
    """Términos del bloque ``{glossary}`` de ``book/glosario.md``, en el orden del archivo."""
    if markdown is None:
        markdown = GLOSSARY.read_text(encoding="utf-8")
    block = re.search(r"^```\{glossary\}\n(.*?)^```", markdown, re.S | re.M)
    assert block, "book/glosario.md no tiene un bloque ```{glossary}"
    return [
        line.strip()
        for line in block.group(1).splitlines()
        if line.strip() and not line[0].isspace() and not line.startswith(":")
    ]


def _texts():
    """(página, texto Markdown) de cada página del índice; de los cuadernos, sus celdas
    Markdown."""
    for page in toc_pages():
        if page.suffix == ".ipynb":
            cells = json.loads(page.read_text(encoding="utf-8"))["cells"]
            text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        else:
            text = page.read_text(encoding="utf-8")
        yield page, text


def test_spanish_key_orders_like_a_dictionary():
    words = ["Pérdida", "Perceptrón", "Época", "Entropía", "Estadística", "caña", "cano", "cana"]
    assert sorted(words, key=spanish_key) == [
        "cana",
        "cano",
        "caña",
        "Entropía",
        "Época",
        "Estadística",
        "Perceptrón",
        "Pérdida",
    ]


def test_glossary_is_in_spanish_alphabetical_order():
    """El glosario no usa ``:sorted:`` (Sphinx ordena «Época» tras «Exactitud»): el archivo
    mismo debe estar en orden alfabético español."""
    terms = glossary_terms()
    assert len(terms) >= 10
    assert len(set(map(spanish_key, terms))) == len(terms), "términos repetidos"
    assert terms == sorted(terms, key=spanish_key), (
        "Ordene los términos de book/glosario.md alfabéticamente (sin tener en cuenta tildes "
        f"ni mayúsculas): {sorted(terms, key=spanish_key)}"
    )
    assert ":sorted:" not in GLOSSARY.read_text(encoding="utf-8")


def test_glossary_entries_give_the_english_term():
    block = re.search(
        r"^```\{glossary\}\n(.*?)^```", GLOSSARY.read_text(encoding="utf-8"), re.S | re.M
    )
    definitions = re.split(r"\n(?=\S)", block.group(1).strip())
    for definition in definitions:
        term, _, body = definition.partition("\n")
        assert re.match(r"\s+\(\*[^*]+\*", body), (
            f"«{term}»: la definición debe empezar con el término inglés en cursiva, "
            "entre paréntesis: (*inglés*)"
        )


def test_term_roles_point_to_glossary_terms():
    known = {spanish_key(t) for t in glossary_terms()}
    for page, text in _texts():
        for role in _TERM.findall(text):
            target = re.search(r"<([^<>]+)>\s*$", role)
            name = target.group(1) if target else role
            assert spanish_key(name.strip()) in known, (
                f"{page.relative_to(ROOT)}: {{term}}`{role}` no es un término del glosario"
            )


#: Lo que puede preceder a una palabra que empieza frase: nada (inicio de párrafo o de
#: elemento de lista), un punto, dos puntos, signos de cierre de frase o de apertura en español.
_SENTENCE_START = re.compile(r"(?:^|[.!?:¿¡]|^\s*(?:[-*+]|\d+\.)|\*\*|#+)\s*[(*_«\"]*$")


def mid_sentence_capitalised_terms(text: str) -> list[str]:
    """Papeles ``{term}`` cuyo texto visible empieza por mayúscula en mitad de una frase.

    El papel muestra su texto tal como se escribe: ``del {term}`Minilote``` se lee «del
    Minilote». En mitad de una frase hay que escribir ``{term}`minilote <Minilote>```. Las siglas
    (``BN``, ``ReLU``: dos mayúsculas entre las tres primeras letras) se admiten.
    """
    bad = []
    for match in _TERM.finditer(text):
        role = match.group(1)
        shown = re.sub(r"\s*<[^<>]+>\s*$", "", role).strip()
        if not shown or not shown[0].isupper() or sum(c.isupper() for c in shown[:3]) >= 2:
            continue
        line_start = text.rfind("\n", 0, match.start()) + 1
        before = text[line_start : match.start()]
        # Una línea que continúa un párrafo: mirar el final de la línea anterior.
        if not before.strip() and line_start > 0:
            previous = text[: line_start - 1].rsplit("\n", 1)[-1]
            if previous.strip():
                before = previous + " "
        if not _SENTENCE_START.search(before):
            bad.append(f"…{before[-30:]}{{term}}`{role}`")
    return bad


def test_mid_sentence_capitalised_terms_detector():
    assert mid_sentence_capitalised_terms("usa el {term}`Minilote` aquí") == [
        "…usa el {term}`Minilote`"
    ]
    assert mid_sentence_capitalised_terms("del {term}`minilote <Minilote>`") == []
    assert mid_sentence_capitalised_terms("{term}`Minilote` al empezar") == []
    assert mid_sentence_capitalised_terms("Fin. {term}`Época` empieza") == []
    assert mid_sentence_capitalised_terms("- {term}`Época`: una pasada") == []
    assert mid_sentence_capitalised_terms("con la\n{term}`Normalización por grupos`") != []
    assert mid_sentence_capitalised_terms("Fin.\n{term}`Época` empieza") == []
    assert mid_sentence_capitalised_terms("con {term}`BN <Normalización por lotes>`") == []


def test_no_glossary_term_is_capitalised_mid_sentence():
    problems = [
        f"{page.relative_to(ROOT)}: {bad}"
        for page, text in _texts()
        for bad in mid_sentence_capitalised_terms(text)
    ]
    assert not problems, (
        "Términos del glosario con mayúscula en mitad de una frase (escriba "
        "{term}`minúscula <Término>`):\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("notebook", toc_notebooks(), ids=lambda p: p.name)
def test_each_chapter_links_the_glossary(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert _TERM.search(text), (
        f"{notebook.name}: enlace con {{term}}`...` al glosario la primera vez que aparece "
        "cada término."
    )


def _bibtex_keys() -> dict[str, str]:
    text = BIBTEX.read_text(encoding="utf-8")
    entries = re.split(r"(?m)^@", text)[1:]
    keys = {}
    for entry in entries:
        match = re.match(r"\w+\{([^,\s]+),", entry)
        assert match, f"entrada BibTeX sin clave: @{entry[:60]}"
        keys[match.group(1)] = entry
    return keys


def test_required_works_are_in_the_bibliography():
    keys = _bibtex_keys()
    for key, fragments in REQUIRED_WORKS.items():
        assert key in keys, f"falta {key} en book/references.bib"
        for fragment in fragments:
            assert fragment in keys[key], f"{key}: se esperaba «{fragment}» en la entrada"
    assert ":all:" in BIBLIOGRAPHY.read_text(encoding="utf-8"), (
        "la bibliografía debe listar todas las obras de references.bib (:all:)"
    )


def test_every_citation_has_an_entry():
    keys = _bibtex_keys()
    cited = set()
    for page, text in _texts():
        for group in _CITE.findall(text):
            for key in group.split(","):
                key = key.strip()
                cited.add(key)
                assert key in keys, f"{page.relative_to(ROOT)} cita «{key}», que no está en .bib"
    assert "ioffe2015batch" in cited
