"""Extensión local de Sphinx: la interfaz del libro, en español y sin errores de JavaScript.

Jupyter Book la carga desde ``_config.yml`` (``sphinx: local_extensions``). Hace esto:

1. **Traducciones que faltan o están mal.** Sphinx 7.4, sphinx-book-theme 1.3 y
   sphinx-exercise 1.2 traen catálogos en español incompletos (por ejemplo, «Link to this
   heading» sin traducir) o con errores («Descarga esta pagina», «Solución a Ejercicio 1»).
   Se antepone al traductor de cada catálogo una tabla propia; lo que no está en ella sigue
   resolviéndolo el catálogo original.
2. **Citas y bibliografía en español.** ``author_year_es``: como ``author_year`` de
   sphinxcontrib-bibtex, pero «(Ioffe y Szegedy, 2015)» en lugar de «[Ioffe and Szegedy, 2015]»;
   ``plain_es``: el estilo ``plain`` de pybtex con «En», «volumen», «págs.», «edición»...
3. **Avisos de celdas ocultas.** myst-nb forma el texto del botón de una celda oculta con
   ``nb_code_prompt_show`` y sustituye ``{type}`` por una palabra inglesa (``content``,
   ``source`` u ``output``); aquí se cambia esa palabra por su equivalente en español.
4. **Scripts en línea duplicados.** Con Sphinx 7.4, un script en línea que una extensión
   añade después de iniciar el constructor aparece dos veces en cada página; el de
   sphinx-thebe declara una constante (``const THEBE_JS_URL``) y la segunda copia produce un
   error de JavaScript en la consola. Se deja una sola copia de cada script.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass, field
from typing import Any

import pybtex.plugin
from docutils import nodes
from pybtex.style import FormattedEntry
from pybtex.style import template as pt
from pybtex.style.formatting.plain import Style as PlainStyle
from sphinx.application import Sphinx
from sphinx.locale import translators
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle, PersonStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

#: Traducciones propias por catálogo de mensajes (``sphinx``, ``booktheme``, ``exercise``).
TRADUCCIONES: dict[str, dict[str, str]] = {
    "sphinx": {
        "Link to this heading": "Enlace a este encabezado",
        "Link to this image": "Enlace a esta imagen",
        "Link to this table": "Enlace a esta tabla",
        "Link to this code": "Enlace a este código",
        "Link to this equation": "Enlace a esta ecuación",
        "Link to this definition": "Enlace a esta definición",
        "Link to this term": "Enlace a este término",
        "Link to this toctree": "Enlace a este índice",
    },
    "booktheme": {
        "Download this page": "Descargar esta página",
        "Download notebook file": "Descargar el cuaderno",
        "Download source file": "Descargar el archivo fuente",
        "Launch interactive content": "Abrir el contenido interactivo",
        "Launch on": "Abrir en",
        "Launch": "Abrir",
        "Source repositories": "Repositorios del código",
        "Source repository": "Repositorio del código",
        "Open an issue": "Abrir una incidencia",
        "Open issue": "Abrir una incidencia",
        "Repository": "Repositorio",
        "Edit this page": "Editar esta página",
        "Suggest edit": "Sugerir un cambio",
        "Show source": "Ver el código fuente",
        "Print to PDF": "Imprimir en PDF",
        "Fullscreen mode": "Pantalla completa",
        "Toggle navigation": "Mostrar u ocultar la navegación",
        "previous page": "página anterior",
        "next page": "página siguiente",
        "Contents": "Contenido",
        "Search": "Buscar",
        "logo": "(logotipo)",
    },
    "exercise": {
        "Exercise": "Ejercicio",
        "Solution": "Solución",
        "Solution to": "Solución del",
    },
}

#: Palabra inglesa que myst-nb pone en ``{type}`` → texto en español.
TIPOS_DE_CELDA = {"content": "la celda", "source": "el código", "output": "la salida"}


class _Tabla(gettext.NullTranslations):
    """Traductor que consulta primero una tabla y después el traductor original."""

    def __init__(self, tabla: dict[str, str], original: gettext.NullTranslations | None):
        super().__init__()
        self._tabla = tabla
        if original is not None:
            self.add_fallback(original)

    def gettext(self, message: str) -> str:
        if message in self._tabla:
            return self._tabla[message]
        return super().gettext(message)


def _instalar_traducciones(app: Sphinx) -> None:
    """Antepone las tablas de :data:`TRADUCCIONES` a los catálogos ya registrados."""
    if not (app.config.language or "").startswith("es"):
        return
    for catalogo, tabla in TRADUCCIONES.items():
        clave = ("general", catalogo)
        original = translators.get(clave)
        if isinstance(original, _Tabla):
            continue
        translators[clave] = _Tabla(tabla, original)


@dataclass
class PersonasEs(PersonStyle):
    """Nombres de autores unidos con «y», sin coma antes del último (norma española)."""

    sep2: str = " y "
    last_sep: str = " y "


def _parentesis() -> BracketStyle:
    return BracketStyle(left="(", right=")", sep="; ")


@dataclass
class AutorAnioEs(AuthorYearReferenceStyle):
    """Citas autor-año a la española: «(Ioffe y Szegedy, 2015)», «Ioffe y Szegedy (2015)»;
    varias obras en una cita se separan con punto y coma."""

    bracket_textual: BracketStyle = field(default_factory=_parentesis)
    bracket_parenthetical: BracketStyle = field(default_factory=_parentesis)
    bracket_author: BracketStyle = field(default_factory=_parentesis)
    bracket_label: BracketStyle = field(default_factory=_parentesis)
    bracket_year: BracketStyle = field(default_factory=_parentesis)
    person: PersonStyle = field(default_factory=PersonasEs)


register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_es", AutorAnioEs)

#: Palabras fijas de las plantillas de pybtex (estilo ``plain``) → español.
PALABRAS_BIBLIOGRAFIA = {
    "In": "En",
    "Volume": "Volumen",
    "volume": "volumen",
    "of": "de",
    "Number": "Número",
    "number": "número",
    "in": "en",
    "chapter": "capítulo",
    "pages": "págs.",
    "edition": "edición",
    "editor": "ed.",
    "editors": "eds.",
    "Technical Report": "Informe técnico",
    "Master's thesis": "Trabajo de fin de máster",
    "PhD thesis": "Tesis doctoral",
    " (visited on ": " (consultado el ",
}
#: Separadores de nombres de las plantillas de pybtex → español (sin coma antes de «y»).
SEPARADORES_BIBLIOGRAFIA = {" and ": " y ", ", and ": " y "}


def _traducir_plantilla(node: Any) -> Any:
    """Copia de una plantilla de pybtex con sus textos fijos y separadores en español.

    Solo se traducen los hijos literales y los separadores ``sep2``/``last_sep``; los
    argumentos (nombres de campos como ``"volume"``) no se tocan.
    """
    if isinstance(node, str):
        return PALABRAS_BIBLIOGRAFIA.get(node, node)
    if not isinstance(node, pt.Node):
        return node
    copia = pt.Node(node.name, node.f)
    copia.args = list(node.args)
    copia.kwargs = {
        k: SEPARADORES_BIBLIOGRAFIA.get(v, v) if isinstance(v, str) else v
        for k, v in node.kwargs.items()
    }
    copia.children = [_traducir_plantilla(child) for child in node.children]
    return copia


class EstiloBibliografiaEs(PlainStyle):
    """Estilo ``plain`` de pybtex (orden por autor, año y título) con las palabras en español:
    «En», «volumen 37 de», «págs.», «2.ª edición», «Informe técnico», autores unidos con «y».
    """

    def format_edition(self, e: Any) -> Any:
        def ordinal(text: Any) -> Any:
            return text + ".ª" if str(text).isdigit() else text.lower()

        return pt.optional[pt.words[pt.field("edition", apply_func=ordinal), "edition"]]

    def format_entry(self, label: str, entry: Any, bib_data: Any = None) -> Any:
        get_template = getattr(self, f"get_{entry.type}_template", None)
        if get_template is None:
            return super().format_entry(label, entry, bib_data)
        context = {"entry": entry, "style": self, "bib_data": bib_data}
        text = _traducir_plantilla(get_template(entry)).format_data(context)
        return FormattedEntry(entry.key, text, label)


pybtex.plugin.register_plugin("pybtex.style.formatting", "plain_es", EstiloBibliografiaEs)


class AvisosDeCeldasOcultas(SphinxPostTransform):
    """Traduce la palabra que myst-nb pone en ``{type}`` dentro de los avisos de celdas ocultas.

    Se ejecuta justo después de ``HideInputCells`` de myst-nb (prioridad 199) y solo toca los
    avisos que empiezan por «Mostrar» u «Ocultar», es decir, los formados con la
    configuración del libro; un aviso propio de una celda (en sus metadatos) no cambia.
    """

    default_priority = 200
    formats = ("html",)
    _patron = re.compile(r"^((?:Mostrar|Ocultar)\b.*?)\b(content|source|output)$")

    def run(self, **kwargs: Any) -> None:
        for node in self.document.findall(nodes.Element):
            for clave in ("prompt_show", "prompt_hide"):
                texto = node.get(clave) if clave in node.attributes else None
                if isinstance(texto, str):
                    node[clave] = self._patron.sub(
                        lambda m: m.group(1) + TIPOS_DE_CELDA[m.group(2)], texto
                    )


def _sin_scripts_duplicados(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Deja una sola copia de cada script de la página (mismo archivo y mismos atributos)."""
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    vistos: set[tuple] = set()
    unicos = []
    for script in scripts:
        atributos = getattr(script, "attributes", {}) or {}
        clave = (
            getattr(script, "filename", script) or "",
            tuple(sorted((k, str(v)) for k, v in atributos.items())),
        )
        if clave not in vistos:
            vistos.add(clave)
            unicos.append(script)
    scripts[:] = unicos


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _instalar_traducciones)
    app.connect("html-page-context", _sin_scripts_duplicados, priority=900)
    app.add_post_transform(AvisosDeCeldasOcultas)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
