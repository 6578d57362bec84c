"""Ortografía del libro con hunspell y el diccionario español (es_ES).

Qué hace falta: los paquetes de Debian ``hunspell``, ``hunspell-es`` (diccionario ``es_ES``) y
``hunspell-en-us`` (``en_US``, solo para los términos ingleses en cursiva); ``.ci/run`` los
instala (``sudo apt-get install hunspell hunspell-es hunspell-en-us``).

Uso: ``python tools/spelling.py`` lista las palabras desconocidas de cada página de
``_toc.yml`` (archivo, celda y línea) y termina con código 1 si hay alguna. ``make spelling``
lo ejecuta, dentro de ``make test``, a través de ``tests/test_spelling.py``.

Qué se revisa: las páginas Markdown del índice y las celdas Markdown de cada cuaderno del índice.
Qué no: el código (bloques y ``código en línea``), las fórmulas (``$...$``, ``$$...$$``,
``\\begin{...}``), los URL, la sintaxis de MyST (nombres y opciones de directivas, etiquetas
``(nombre)=``, roles de referencia y citas como ``{cite:p}`clave```, ``{numref}`fig-x```), las
etiquetas HTML y las sustituciones. Del rol ``{term}`` se revisa el texto. El título de las
directivas de texto (``{admonition} Título``, ``{exercise} Título``...) también se revisa.

El texto en cursiva (``*...*`` o ``_..._``) es, por convención del libro, el término inglés que
acompaña a uno español («normalización por lotes (*batch normalization*)»): se revisa con los
diccionarios español e inglés a la vez. El resto, solo con el español.

La lista ``tests/wordlist-es.txt`` (una palabra por línea, ordenada) recoge los términos
técnicos y nombres propios legítimos que no están en esos diccionarios; ``hunspell`` la lee como
diccionario personal.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))

from book_files import toc_pages  # noqa: E402

WORDLIST = ROOT / "tests" / "wordlist-es.txt"
SPANISH = "es_ES"
FOREIGN = "es_ES,en_US"

#: Directivas cuyo contenido no es prosa (código, fórmulas, listas generadas...).
CODE_DIRECTIVES = {
    "code",
    "code-block",
    "code-cell",
    "sourcecode",
    "literalinclude",
    "math",
    "raw",
    "eval-rst",
    "bibliography",
    "toctree",
    "tableofcontents",
    "mermaid",
    "graphviz",
    "glue",
    "glue:figure",
    "include",
}
#: Directivas cuyo argumento es un título en prosa (el de las demás es un nombre o una ruta).
TITLE_DIRECTIVES = {
    "admonition",
    "exercise",
    "note",
    "tip",
    "hint",
    "important",
    "warning",
    "caution",
    "attention",
    "danger",
    "error",
    "seealso",
    "topic",
    "sidebar",
    "margin",
    "dropdown",
    "card",
    "prf:theorem",
    "prf:definition",
    "prf:example",
}
#: Roles cuyo contenido es texto del libro (los demás son claves, etiquetas o código).
TEXT_ROLES = {"term", "sub", "sup", "strong", "emphasis"}

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,}|:{3,})\s*(?:\{([\w:.-]+)\})?\s*(.*?)\s*$")
_OPTION = re.compile(r"^\s*:[\w-]+:.*$")


def _blank(text: str) -> str:
    """El mismo texto con todo lo que no es salto de línea cambiado por espacios."""
    return re.sub(r"[^\n]", " ", text)


def _blank_match(match: re.Match) -> str:
    return _blank(match.group(0))


def _strip_fences(text: str) -> str:
    """Quita los bloques de código y la sintaxis de las directivas; deja su prosa en su sitio."""
    out: list[str] = []
    stack: list[tuple[str, int, bool]] = []  # (carácter, longitud, es código)
    in_options = False
    for line in text.split("\n"):
        if stack and stack[-1][2]:  # dentro de código: solo se busca el cierre
            char, length, _ = stack[-1]
            if re.fullmatch(rf"\s*{re.escape(char)}{{{length},}}\s*", line):
                stack.pop()
            out.append("")
            continue
        fence = _FENCE.match(line)
        if fence:
            marks, name, arg = fence.group(2), fence.group(3), fence.group(4)
            char, length = marks[0], len(marks)
            closes = (
                stack and char == stack[-1][0] and length >= stack[-1][1] and not name and not arg
            )
            if closes:
                stack.pop()
                out.append("")
                in_options = False
                continue
            is_code = (name is None and char != ":") or (name in CODE_DIRECTIVES)
            stack.append((char, length, is_code))
            out.append(arg if (name in TITLE_DIRECTIVES and not is_code) else "")
            in_options = not is_code
            continue
        if in_options and _OPTION.match(line):
            out.append("")
            continue
        in_options = False
        out.append(line)
    return "\n".join(out)


def _role(match: re.Match) -> str:
    name, content = match.group(1), match.group(3)
    explicit = re.fullmatch(r"(?s)(.*?)\s*<[^<>]*>", content)
    if name in TEXT_ROLES:
        text = explicit.group(1) if explicit else content
    elif explicit and name in {"ref", "numref", "doc", "eq", "download", "prf:ref"}:
        text = explicit.group(1).replace("%s", " ").replace("{number}", " ")
    else:
        return _blank(match.group(0))
    # se conserva la longitud en líneas para que los números de línea sigan valiendo
    return text + "\n" * match.group(0).count("\n")


_ITALIC = re.compile(
    r"(?<![\w*\\])\*(?![\s*])((?:(?!\n\s*\n)[^*])+?)(?<!\s)\*(?![\w*])"
    r"|(?<![\w\\])_(?![\s_])((?:(?!\n\s*\n)[^_])+?)(?<!\s)_(?!\w)",
    re.S,
)


def prose(markdown: str) -> tuple[str, list[tuple[int, str]]]:
    """Separa la prosa de ``markdown`` para el corrector.

    Devuelve el texto en español, con las mismas líneas que el original (lo que no se revisa
    queda en blanco), y la lista de fragmentos en cursiva (línea donde empiezan, texto).
    """
    text = markdown.replace("\r\n", "\n")
    text = re.sub(r"\A---\n.*?\n---\n", _blank_match, text, flags=re.S)  # cabecera YAML
    text = re.sub(r"<!--.*?-->", _blank_match, text, flags=re.S)
    text = _strip_fences(text)
    text = re.sub(r"\$\$.*?\$\$", _blank_match, text, flags=re.S)
    text = re.sub(r"\\begin\{([\w*]+)\}.*?\\end\{\1\}", _blank_match, text, flags=re.S)
    text = re.sub(r"\{([\w:.-]+)\}(`+)(.*?)\2", _role, text, flags=re.S)
    text = re.sub(r"(`+).+?\1", _blank_match, text, flags=re.S)
    text = re.sub(
        r"(?<![\\$])\$(?=\S)(?:(?!\n\s*\n)[^$])*?(?<=\S)\$(?!\d)", _blank_match, text, flags=re.S
    )
    text = re.sub(r"^\s*\([\w:.-]+\)=\s*$", _blank_match, text, flags=re.M)  # etiquetas
    text = re.sub(r"^\s*\[[^\]]+\]:\s*\S+.*$", _blank_match, text, flags=re.M)  # enlaces
    text = re.sub(r"<(?:https?|mailto|ftp):[^>]*>", _blank_match, text)
    text = re.sub(r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)", lambda m: "]" + _blank(m.group(0)[1:]), text)
    text = re.sub(r"\b(?:https?|ftp)://\S+|\bwww\.\S+", _blank_match, text)
    text = re.sub(r"</?[A-Za-z][^>]*>", _blank_match, text)
    text = re.sub(r"&#?\w+;", " ", text)
    text = re.sub(r"\{\{.*?\}\}", _blank_match, text, flags=re.S)  # sustituciones
    text = re.sub(r"\[\^[^\]]+\]", _blank_match, text)  # notas al pie
    text = re.sub(r"\*\*|__", "  ", text)  # negrita: el texto se revisa
    foreign: list[tuple[int, str]] = []

    def italic(match: re.Match) -> str:
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        foreign.append((line, inner.replace("\n", " ")))
        return _blank(match.group(0))

    text = _ITALIC.sub(italic, text)
    return text, foreign


@dataclass(frozen=True)
class Unknown:
    """Una palabra que ningún diccionario reconoce, con el sitio donde aparece."""

    word: str
    where: str

    def __str__(self) -> str:
        return f"{self.where}: «{self.word}»"


def markdown_sources(root: Path = ROOT) -> list[tuple[str, str]]:
    """(sitio, texto Markdown) de cada página ``.md`` y de cada celda Markdown de ``_toc.yml``."""
    sources = []
    for page in toc_pages(root):
        rel = page.relative_to(root).as_posix()
        if page.suffix == ".ipynb":
            notebook = json.loads(page.read_text(encoding="utf-8"))
            for index, cell in enumerate(notebook["cells"]):
                if cell["cell_type"] == "markdown":
                    source = cell["source"]
                    text = "".join(source) if isinstance(source, list) else source
                    sources.append((f"{rel}, celda {index}", text))
        else:
            sources.append((rel, page.read_text(encoding="utf-8")))
    return sources


def hunspell_available() -> bool:
    return shutil.which("hunspell") is not None


def _hunspell(lines: list[str], dictionaries: str, wordlist: Path | None) -> list[list[str]]:
    """Palabras desconocidas de cada línea, con ``hunspell -a`` (un solo proceso)."""
    if not lines:
        return []
    if not hunspell_available():
        raise RuntimeError(
            "No se encuentra hunspell. Instálelo con «sudo apt-get install hunspell "
            "hunspell-es hunspell-en-us»."
        )
    cmd = ["hunspell", "-a", "-i", "utf-8", "-d", dictionaries]
    if wordlist is not None:
        cmd += ["-p", str(wordlist)]
    payload = "".join("^" + line.replace("\n", " ") + "\n" for line in lines)
    result = subprocess.run(cmd, input=payload, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not result.stdout.startswith("@(#)"):
        raise RuntimeError(
            f"hunspell falló (código {result.returncode}) con los diccionarios "
            f"«{dictionaries}»: {result.stderr.strip()}. ¿Están instalados hunspell-es y "
            "hunspell-en-us?"
        )
    answers = result.stdout.split("\n")[1:]
    per_line: list[list[str]] = [[]]
    for answer in answers:
        if answer == "":
            per_line.append([])
        elif answer[0] in "&#":
            per_line[-1].append(answer.split(" ")[1])
    return per_line[: len(lines)]


def check_texts(sources: list[tuple[str, str]], wordlist: Path | None = WORDLIST) -> list[Unknown]:
    """Palabras desconocidas en los textos Markdown ``sources`` ((sitio, texto), ...)."""
    spanish: list[tuple[str, str]] = []
    foreign: list[tuple[str, str]] = []
    for where, markdown in sources:
        text, italics = prose(markdown)
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                spanish.append((f"{where}, línea {number}", line))
        for number, fragment in italics:
            foreign.append((f"{where}, línea {number} (cursiva)", fragment))
    unknown: list[Unknown] = []
    for items, dictionaries in ((spanish, SPANISH), (foreign, FOREIGN)):
        answers = _hunspell([line for _, line in items], dictionaries, wordlist)
        for (where, _), words in zip(items, answers, strict=True):
            unknown.extend(Unknown(word, where) for word in words)
    return unknown


def check_book(root: Path = ROOT, wordlist: Path | None = WORDLIST) -> list[Unknown]:
    """Palabras desconocidas en todas las páginas y celdas Markdown de ``_toc.yml``."""
    return check_texts(markdown_sources(root), wordlist)


def redundant_words(wordlist: Path = WORDLIST) -> list[str]:
    """Palabras de la lista que el diccionario español ya conoce (sobran en ella)."""
    lines = wordlist.read_text(encoding="utf-8").split("\n")
    words = [w.split("/")[0] for w in lines if w.strip()]
    answers = _hunspell(words, SPANISH, None)
    return [word for word, unknown in zip(words, answers, strict=True) if not unknown]


def main() -> int:
    unknown = check_book()
    for item in unknown:
        print(item)
    pages = len(toc_pages())
    print(
        f"Ortografía: {len(markdown_sources())} textos de {pages} páginas revisados; "
        f"{len(unknown)} palabras desconocidas."
    )
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
