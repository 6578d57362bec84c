"""Comprobación del libro renderizado en un navegador real (Chromium sin interfaz).

Qué hace falta para ejecutarla:

- el libro construido en ``_build/html`` (``make book-check``);
- Chromium, del paquete de Debian ``chromium`` (``sudo apt-get install chromium
  chromium-driver``; ``.ci/run`` los instala). Se usa el Chromium del sistema porque aquí no se
  pueden descargar navegadores; otra ruta se indica con la variable ``BNCOURSE_CHROMIUM``;
- el paquete de Python ``playwright`` (está en ``requirements.txt``); no hace falta
  ``playwright install``.

Uso: ``python tools/site_check.py`` comprueba el sitio y escribe un resumen; termina con código 1
si encuentra algún problema. ``make browser`` la ejecuta dentro de ``make test`` a través de
``tests/test_site.py``.

Para cada página de ``_toc.yml`` y para la página de búsqueda comprueba que:

- carga (respuesta 200), con ``<html lang="es">`` y un título;
- MathJax (servido desde el propio sitio, sin conexión) ha compuesto cada fórmula, sin errores
  de TeX, y no queda TeX sin componer (``$$``, ``\\(``, ``\\[``, ``\\begin``, ``$x^2$``...) en
  el texto, incluidas las soluciones plegadas; el código (``pre``, ``code``) no se mira;
- cada imagen se ha cargado (``naturalWidth > 0``) y ninguna depende de otro servidor;
- la consola no tiene errores (las peticiones a otros servidores se bloquean, porque el sitio
  debe funcionar sin conexión, y los avisos de esos bloqueos no cuentan);
- cada enlace interno lleva a un archivo del sitio y, si tiene ancla, a un ``id`` que existe;
- la interfaz no tiene textos en inglés conocidos del tema («Show code cell», «Search this
  book»...);
- cada figura (y cada tabla con leyenda) lleva número («Figura 3», «Tabla 1») y el texto de
  la página la cita;
- en las páginas que son cuadernos está el botón de descarga (``.ipynb``) y los botones de
  ejecución llevan solo a entornos que existen (:class:`Launch`): Colab, a ese mismo cuaderno,
  si su primera celda de código es la de instalación (``tools/colab_cell.py``); Binder solo si
  el repositorio tiene la carpeta ``binder/``; ningún otro servicio. Y el capítulo termina con
  ejercicios, cada uno con su solución desplegable;
- la búsqueda encuentra «normalización».

Guarda una captura de cada página en ``_build/screenshots/`` para que una persona las mire, y
el resumen en ``_build/screenshots/resumen.txt``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))

from book_files import toc_pages  # noqa: E402

CHROMIUM = os.environ.get("BNCOURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 30_000
SEARCH_TERM = "normalización"

#: TeX que MathJax no ha compuesto, buscado en el texto fuera de código y de fórmulas.
RAW_TEX = [
    (re.compile(r"\$\$"), "«$$»"),
    (re.compile(r"\\[()\[\]]"), "delimitador «\\(», «\\)», «\\[» o «\\]»"),
    (re.compile(r"\\begin\{"), "«\\begin{»"),
    (re.compile(r"\$[^$\n]{0,200}?[\\^_][^$\n]{0,200}?\$"), "fórmula «$...$»"),
]

#: Textos en inglés del tema y de las extensiones que deben aparecer traducidos.
ENGLISH_UI = re.compile(
    r"\b(Show code cell|Hide code cell|Click to show|Click to hide|Search this book|"
    r"Toggle primary sidebar|Toggle secondary sidebar|Launch on|Download this page|"
    r"Solution to|Skip to main content|Back to top|Contents|Exercise|Solution)\b"
)

_IGNORED_TAGS = (
    "SCRIPT STYLE PRE CODE KBD SAMP TEXTAREA TEMPLATE NOSCRIPT MJX-CONTAINER MJX-ASSISTIVE-MML"
)

# Texto fuera de código y de fórmulas ya compuestas (también el oculto en desplegables).
_JS_TEXT = f"""() => {{
  const skip = new Set({_IGNORED_TAGS.split()!r});
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {{
    acceptNode(node) {{
      for (let e = node.parentElement; e; e = e.parentElement)
        if (skip.has(e.tagName)) return NodeFilter.FILTER_REJECT;
      return NodeFilter.FILTER_ACCEPT;
    }}
  }});
  while (walker.nextNode()) out.push(walker.currentNode.nodeValue);
  return out.join("\\n");
}}"""

_JS_MATH = """async () => {
  const math = [...document.querySelectorAll('.math')];
  const mj = window.MathJax;
  if (!mj || !mj.startup || !mj.startup.promise)
    return {loaded: false, math: math.length, formulas: 0, untypeset: [], errors: []};
  const timeout = new Promise((_, reject) => setTimeout(() => reject('tiempo agotado'), 20000));
  try { await Promise.race([mj.startup.promise, timeout]); }
  catch (e) { return {loaded: false, math: math.length, formulas: 0, untypeset: [], errors: [String(e)]}; }
  const untypeset = math.filter(m => !m.querySelector('mjx-container'))
                        .map(m => m.textContent.trim().slice(0, 80));
  const errors = [...document.querySelectorAll('mjx-merror')]
                   .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80));
  // Una macro desconocida no da error: MathJax (extensión noundefined) la escribe en rojo.
  for (const t of document.querySelectorAll('mjx-assistive-mml mtext[mathcolor="red"]'))
    if (t.textContent.startsWith('\\\\')) errors.push('macro desconocida ' + t.textContent);
  return {loaded: true, math: math.length,
          formulas: document.querySelectorAll('mjx-container').length, untypeset, errors};
}"""

_JS_IMAGES = """async () => {
  const imgs = [...document.images];
  imgs.forEach(img => { img.loading = 'eager'; });
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(resolve => {
    img.addEventListener('load', resolve, {once: true});
    img.addEventListener('error', resolve, {once: true});
    setTimeout(resolve, 10000);
  })));
  return imgs.map(img => ({src: img.currentSrc || img.src, attr: img.getAttribute('src'),
                           width: img.naturalWidth}));
}"""

_JS_LINKS = """() => [...document.querySelectorAll('a[href]')]
  .map(a => ({href: a.href, attr: a.getAttribute('href')}))"""

_JS_UI_ATTRIBUTES = """() => [...document.querySelectorAll(
    'input[placeholder], button[title], .btn[title], [data-bs-title]')]
  .map(e => e.getAttribute('placeholder') || e.getAttribute('title')
            || e.getAttribute('data-bs-title') || '')"""


@dataclass
class PageReport:
    """Lo que se comprobó en una página y los problemas encontrados."""

    path: str
    problems: list[str] = field(default_factory=list)
    images: int = 0
    formulas: int = 0
    links: int = 0
    search_results: int = 0
    screenshot: Path | None = None


@dataclass
class SiteReport:
    """Resultado de comprobar todas las páginas."""

    pages: list[PageReport]
    seconds: float = 0.0

    @property
    def problems(self) -> list[str]:
        return [f"{p.path}: {problem}" for p in self.pages for problem in p.problems]

    def summary(self) -> str:
        images = sum(p.images for p in self.pages)
        formulas = sum(p.formulas for p in self.pages)
        links = sum(p.links for p in self.pages)
        lines = [
            f"Navegador: {len(self.pages)} páginas comprobadas, {images} imágenes cargadas, "
            f"{formulas} fórmulas compuestas por MathJax, {links} enlaces internos resueltos, "
            f"{len(self.problems)} problemas ({self.seconds:.1f} s)."
        ]
        searches = [p for p in self.pages if p.path.startswith("search.html")]
        for p in searches:
            lines.append(f"  Búsqueda «{SEARCH_TERM}»: {p.search_results} resultados.")
        for p in self.pages:
            lines.append(
                f"  {p.path:<28} imágenes {p.images:>3}  fórmulas {p.formulas:>4}  "
                f"enlaces {p.links:>4}  problemas {len(p.problems)}"
            )
        lines.extend(f"  PROBLEMA {problem}" for problem in self.problems)
        return "\n".join(lines)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Sirve ``directory`` por HTTP en 127.0.0.1, en un puerto libre; devuelve la URL base."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def browser_context(base_url: str):
    """Chromium sin interfaz con un contexto que solo deja salir peticiones a ``base_url``.

    Las peticiones bloqueadas se guardan en ``context.blocked_urls`` (un conjunto).
    """
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"No se encuentra Chromium en {CHROMIUM}. Instálelo con "
            "«sudo apt-get install chromium chromium-driver» o indique su ruta en la variable "
            "de entorno BNCOURSE_CHROMIUM."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT, locale="es-ES")
            context.set_default_timeout(TIMEOUT_MS)
            blocked: set[str] = set()

            def route(r):
                if r.request.url.startswith(base_url):
                    r.continue_()
                else:
                    blocked.add(r.request.url)
                    r.abort()

            context.route("**/*", route)
            context.blocked_urls = blocked
            yield context
        finally:
            browser.close()


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" or (tag == "a" and name == "name"):
                if value:
                    self.ids.add(value)


@functools.lru_cache(maxsize=256)
def _anchors_of(file: Path) -> frozenset[str]:
    parser = _Anchors()
    parser.feed(file.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def _local_file(html_dir: Path, base_url: str, url: str) -> Path | None:
    """Archivo de ``html_dir`` al que apunta ``url`` (sin consulta ni ancla), o None."""
    path = unquote(urlsplit(url).path)
    base_path = urlsplit(base_url).path
    relative = path[len(base_path) :] if path.startswith(base_path) else path.lstrip("/")
    target = (html_dir / relative).resolve()
    if target.is_dir():
        target = target / "index.html"
    try:
        target.relative_to(html_dir.resolve())
    except ValueError:
        return None
    return target if target.is_file() else None


def _check_links(page, html_dir: Path, base_url: str, report: PageReport) -> None:
    here = page.url.split("#")[0]
    for link in page.evaluate(_JS_LINKS):
        href, attr = link["href"], link["attr"] or ""
        if not href.startswith(base_url):
            continue  # otro servidor, mailto:, javascript:...: no se puede comprobar sin conexión
        if attr in ("#", ""):
            continue  # botones del tema
        report.links += 1
        url, _, anchor = href.partition("#")
        target = _local_file(html_dir, base_url, url)
        if target is None:
            report.problems.append(f"enlace roto «{attr}»: no existe el archivo")
            continue
        anchor = unquote(anchor)
        if not anchor or target.suffix != ".html":
            continue
        if url.split("?")[0] == here.split("?")[0]:
            found = page.evaluate("id => document.getElementById(id) !== null", anchor)
        else:
            found = anchor in _anchors_of(target)
        if not found:
            report.problems.append(f"enlace roto «{attr}»: no existe el ancla «#{anchor}»")


def _check_text(page, report: PageReport) -> None:
    text = page.evaluate(_JS_TEXT)
    for pattern, what in RAW_TEX:
        for match in pattern.finditer(text):
            start = max(match.start() - 30, 0)
            snippet = text[start : match.end() + 30].replace("\n", " ")
            report.problems.append(f"TeX sin componer ({what}): «…{snippet}…»")
            break
    visible = page.evaluate("() => document.body.innerText")
    ui = [visible, *page.evaluate(_JS_UI_ATTRIBUTES)]
    english = sorted({m.group(1) for chunk in ui for m in ENGLISH_UI.finditer(chunk)})
    if english:
        report.problems.append("interfaz en inglés: " + ", ".join(f"«{e}»" for e in english))


_JS_FIGURES = """() => {
  const out = [];
  const article = document.querySelector('article') || document.body;
  const refs = id => [...article.querySelectorAll('a[href]')].filter(a => {
    const href = a.getAttribute('href');
    return (href === '#' + id || href.endsWith('#' + id)) && !a.classList.contains('headerlink');
  }).length;
  for (const fig of article.querySelectorAll('figure')) {
    const number = fig.querySelector('figcaption .caption-number');
    if (!fig.querySelector('figcaption')) out.push('figura sin leyenda');
    else if (!number) out.push('figura sin número: ' + (fig.id || fig.textContent.trim().slice(0, 60)));
    else if (!number.textContent.trim().startsWith('Figura'))
      out.push('número de figura que no dice «Figura»: ' + number.textContent.trim());
    if (fig.id && number && refs(fig.id) === 0)
      out.push('figura que el texto no cita ({numref}): ' + fig.id);
  }
  for (const caption of article.querySelectorAll('table > caption')) {
    const number = caption.querySelector('.caption-number');
    const table = caption.parentElement;
    const id = table.id || (table.closest('[id]') || {}).id;
    if (!number) out.push('tabla sin número: ' + caption.textContent.trim().slice(0, 60));
    else if (!number.textContent.trim().startsWith('Tabla'))
      out.push('número de tabla que no dice «Tabla»: ' + number.textContent.trim());
    else if (table.id && refs(table.id) === 0)
      out.push('tabla que el texto no cita ({numref}): ' + table.id);
  }
  return out;
}"""

_JS_EXERCISES = """() => {
  const exercises = [...document.querySelectorAll('div.exercise')];
  const solutions = [...document.querySelectorAll('div.solution')];
  const solved = new Set(solutions.map(s => {
    const a = s.querySelector('.admonition-title a[href^="#"]');
    return a ? a.getAttribute('href').slice(1) : null;
  }));
  // La última sección con contenido: se saltan las de referencias finales («Referencias»...).
  const backMatter = /^(Referencias|Bibliografía|Lecturas recomendadas|Para saber más)$/;
  const h2 = [...document.querySelectorAll('article section > h2')].filter(
    h => !backMatter.test(h.textContent.replace('#', '').trim()));
  const last = h2.length ? h2[h2.length - 1].parentElement : null;
  return {
    exercises: exercises.length,
    unsolved: exercises.filter(e => !solved.has(e.id)).map(e => e.id || '(sin etiqueta)'),
    notDropdown: solutions.filter(s => !s.classList.contains('dropdown')).length,
    outsideLast: exercises.filter(e => !last || !last.contains(e)).length,
    lastTitle: last ? last.querySelector('h2').textContent.replace('#', '').trim() : null,
  };
}"""


def _check_figures(page, report: PageReport) -> None:
    report.problems.extend(page.evaluate(_JS_FIGURES))


def _check_exercises(page, report: PageReport) -> None:
    """Un capítulo termina con ejercicios, cada uno con su solución desplegable.

    Tras los ejercicios solo se admite una sección de referencias («Referencias»,
    «Bibliografía», «Lecturas recomendadas» o «Para saber más»).
    """
    found = page.evaluate(_JS_EXERCISES)
    if found["exercises"] == 0:
        report.problems.append("el capítulo no tiene ejercicios ({exercise})")
        return
    for label in found["unsolved"]:
        report.problems.append(f"ejercicio sin solución ({{solution}}): {label}")
    if found["notDropdown"]:
        report.problems.append(
            f"{found['notDropdown']} soluciones no son desplegables (:class: dropdown)"
        )
    if found["outsideLast"]:
        report.problems.append(
            f"{found['outsideLast']} ejercicios fuera de la última sección "
            f"(«{found['lastTitle']}»): el capítulo debe terminar con los ejercicios"
        )


@dataclass(frozen=True)
class Launch:
    """Los entornos en los que un botón de ejecución puede abrir el cuaderno ``notebook``.

    ``colab``: el cuaderno se ejecuta en Colab (su primera celda de código instala bncourse);
    ``binder``: el repositorio tiene un entorno para Binder (``binder/``). ``notebook`` es la
    ruta del cuaderno en el repositorio (``book/02_teoria.ipynb``): el botón de Colab debe
    abrir ese archivo.
    """

    colab: bool = True
    binder: bool = False
    notebook: str | None = None


def launch_for(source: Path, root: Path = ROOT) -> Launch:
    """Los entornos que existen, en el repositorio ``root``, para el cuaderno ``source``."""
    import colab_cell
    import nbformat

    nb = nbformat.read(source, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    binder = root / "binder"
    return Launch(
        colab=bool(code) and colab_cell.is_bootstrap(code[0]),
        binder=binder.is_dir() and any(binder.iterdir()),
        notebook=source.relative_to(root).as_posix(),
    )


_LAUNCH_SERVICES = {
    "colab": "colab.research.google.com",
    "binder": "mybinder.org",
}


def _check_notebook_buttons(page, report: PageReport, launch: Launch) -> None:
    found = page.evaluate(
        """() => ({
          download: [...document.querySelectorAll('.dropdown-download-buttons a')]
                      .some(a => a.getAttribute('href').endsWith('.ipynb')),
          launch: [...document.querySelectorAll('.dropdown-launch-buttons a')]
                    .map(a => a.getAttribute('href')),
        })"""
    )
    if not found["download"]:
        report.problems.append("falta el botón de descarga del cuaderno")
    services = set()
    for href in found["launch"]:
        host = urlsplit(href).netloc
        service = next((k for k, v in _LAUNCH_SERVICES.items() if host.endswith(v)), None)
        if service is None:
            report.problems.append(f"botón de ejecución hacia un servicio desconocido: «{href}»")
            continue
        services.add(service)
        if service == "binder" and not launch.binder:
            report.problems.append(
                f"botón de Binder sin entorno: el repositorio no tiene la carpeta binder/ («{href}»)"
            )
        if service == "colab" and not launch.colab:
            report.problems.append(
                "botón de Colab, pero la primera celda de código del cuaderno no instala "
                "bncourse (python tools/colab_cell.py)"
            )
        if service == "colab" and launch.notebook and not href.endswith("/" + launch.notebook):
            report.problems.append(
                f"el botón de Colab no abre {launch.notebook}: «{href}»"
            )
    if launch.colab and "colab" not in services:
        report.problems.append("falta el botón de Colab")


def check_page(
    context,
    url: str,
    *,
    html_dir: Path,
    base_url: str,
    notebook: bool = False,
    launch: Launch | None = None,
    screenshot: Path | None = None,
    extra: Callable | None = None,
) -> PageReport:
    """Abre ``url`` en ``context`` y aplica todas las comprobaciones de una página.

    ``context`` es el de :func:`browser_context`; ``html_dir`` es la carpeta que sirve
    ``base_url``, para resolver los enlaces. Con ``notebook=True`` exige además el botón de
    descarga, botones de ejecución solo hacia los entornos de ``launch`` (por defecto,
    :class:`Launch`: Colab sí, Binder no) y los ejercicios con solución; ``extra(page, report)``
    añade comprobaciones propias (antes de la captura). Devuelve un :class:`PageReport`; nunca lanza por un problema de
    la página.
    """
    report = PageReport(path=url[len(base_url) :] or "/")
    blocked: set[str] = getattr(context, "blocked_urls", set())
    errors: list[str] = []
    page = context.new_page()

    def on_console(msg):
        if msg.type != "error":
            return
        source = (msg.location or {}).get("url", "")
        if source in blocked or (source and not source.startswith(base_url)):
            return  # petición a otro servidor, bloqueada a propósito
        where = f" ({source})" if source and source.split("#")[0] != url.split("#")[0] else ""
        errors.append(f"error en la consola: {msg.text}{where}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"error de JavaScript: {exc}"))
    try:
        response = page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            status = None if response is None else response.status
            report.problems.append(f"no carga (estado HTTP {status})")
            return report
        lang = page.evaluate("() => document.documentElement.lang")
        if lang != "es":
            report.problems.append(f'<html lang="{lang}"> en lugar de lang="es"')
        title = page.title().strip()
        if not title or title.startswith("<"):
            report.problems.append("la página no tiene título")

        math = page.evaluate(_JS_MATH)
        report.formulas = math["formulas"]
        if math["math"] and not math["loaded"]:
            report.problems.append(f"MathJax no se cargó y hay {math['math']} fórmulas")
        for tex in math["untypeset"]:
            report.problems.append(f"fórmula sin componer: «{tex}»")
        for err in math["errors"]:
            report.problems.append(f"error de MathJax: «{err}»")

        for img in page.evaluate(_JS_IMAGES):
            if not img["src"].startswith(base_url) and not img["src"].startswith("data:"):
                report.problems.append(f"imagen de otro servidor: «{img['attr']}»")
            elif img["width"] > 0:
                report.images += 1
            else:
                report.problems.append(f"imagen que no carga: «{img['attr']}»")

        _check_text(page, report)
        _check_links(page, html_dir, base_url, report)
        _check_figures(page, report)
        if notebook:
            _check_notebook_buttons(page, report, launch or Launch())
            _check_exercises(page, report)
        if extra is not None:
            extra(page, report)
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
            report.screenshot = screenshot
    except Exception as exc:  # un fallo del navegador es un problema de la página
        report.problems.append(f"fallo al comprobarla: {type(exc).__name__}: {exc}")
    finally:
        report.problems.extend(errors)
        page.close()
    return report


def _wait_for_search_results(page, report: PageReport) -> None:
    try:
        page.wait_for_selector("#search-results ul.search li", timeout=15_000)
        report.search_results = page.locator("#search-results ul.search li").count()
    except Exception as exc:
        report.problems.append(
            f"la búsqueda de «{SEARCH_TERM}» no da resultados ({type(exc).__name__})"
        )


def html_path(source: Path, root: Path = ROOT) -> str:
    """Ruta relativa, dentro de ``_build/html``, de la página que genera ``source``."""
    return source.relative_to(root).with_suffix(".html").as_posix()


def check_site(
    html_dir: Path = ROOT / "_build" / "html",
    screenshots: Path | None = ROOT / "_build" / "screenshots",
    root: Path = ROOT,
) -> SiteReport:
    """Comprueba cada página de ``_toc.yml`` (y la búsqueda) en el sitio de ``html_dir``."""
    html_dir = Path(html_dir)
    if not (html_dir / "index.html").is_file():
        raise FileNotFoundError(
            f"No hay libro construido en {html_dir}: ejecute antes «make book-check»."
        )
    start = time.perf_counter()
    pages = toc_pages(root)
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
        for old in screenshots.glob("*.png"):
            old.unlink()  # capturas de páginas que ya no están en el índice
    reports: list[PageReport] = []
    with serve(html_dir) as base_url, browser_context(base_url) as context:
        for source in pages:
            rel = html_path(source, root)
            shot = (
                None if screenshots is None else screenshots / (rel.replace("/", "_")[:-5] + ".png")
            )
            reports.append(
                check_page(
                    context,
                    base_url + rel,
                    html_dir=html_dir,
                    base_url=base_url,
                    notebook=source.suffix == ".ipynb",
                    launch=launch_for(source, root) if source.suffix == ".ipynb" else None,
                    screenshot=shot,
                )
            )
        search = check_page(
            context,
            base_url + f"search.html?q={SEARCH_TERM}",
            html_dir=html_dir,
            base_url=base_url,
            screenshot=None if screenshots is None else screenshots / "search.png",
            extra=_wait_for_search_results,
        )
        search.path = f"search.html?q={SEARCH_TERM}"
        reports.append(search)
    report = SiteReport(reports, seconds=time.perf_counter() - start)
    if screenshots is not None:
        (screenshots / "resumen.txt").write_text(report.summary() + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--capturas", type=Path, default=ROOT / "_build" / "screenshots")
    args = parser.parse_args(argv)
    report = check_site(args.html, args.capturas)
    print(report.summary())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
