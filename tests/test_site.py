"""El libro renderizado, en un navegador real (véase ``tools/site_check.py``).

Necesitan Chromium (paquetes de Debian ``chromium`` y ``chromium-driver``) y, la primera, el
libro ya construido en ``_build/html`` (``make book-check``). Llevan la marca ``browser``:
``make unit`` no las ejecuta; ``make browser`` (dentro de ``make test``) sí.
"""

from __future__ import annotations

import importlib.util
import struct
import textwrap
import zlib
from pathlib import Path

import pytest
import site_check
from book_files import toc_pages

pytestmark = pytest.mark.browser


def _png(width: int = 4, height: int = 3) -> bytes:
    """Un PNG válido (gris, 8 bits) escrito a mano, sin depender de otras bibliotecas."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes([128] * width) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


GOOD = """\
<!DOCTYPE html>
<html lang="es">
<head><meta charset="utf-8"><title>Página correcta</title></head>
<body>
  <h1 id="inicio">Página correcta</h1>
  <p>Texto con un precio de 5 $ y una <a href="#inicio">ancla que existe</a>, un
     <a href="otra.html#seccion">enlace a otra página</a> y un
     <a href="https://example.org/">enlace externo</a>, que no se comprueba.</p>
  <pre>código con $$ y \\begin{x} que no cuenta</pre>
  <img src="figura.png" alt="figura">
</body>
</html>
"""

OTHER = """\
<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Otra</title></head>
<body><h2 id="seccion">Sección</h2></body></html>
"""

BROKEN = """\
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title></title></head>
<body>
  <p>Una fórmula sin componer: $$x^2 + y^2$$ y otra en línea $\\gamma_i$.</p>
  <p>\\begin{align} a &= b \\end{align}</p>
  <details><summary>Solución</summary><p>Oculta: \\(\\beta\\)</p></details>
  <p><a href="no-existe.html">enlace roto</a> y <a href="#ancla-inexistente">ancla rota</a>.</p>
  <p>Show code cell source</p>
  <img src="falta.png" alt="imagen que falta">
  <img src="https://example.org/logo.png" alt="imagen externa">
  <figure id="fig-sin-numero"><img src="figura.png" alt="f"><figcaption><p>Sin número.</p>
  </figcaption></figure>
  <script>console.error("fallo deliberado"); undefinedFunction();</script>
</body>
</html>
"""

CHAPTER = """\
<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Capítulo</title></head>
<body><article><section id="cap"><h1>Capítulo</h1>
<section id="ejercicios"><h2>Ejercicios</h2>
  <div class="exercise admonition" id="ej-1"><p class="admonition-title">Ejercicio 1</p></div>
  <div class="solution admonition"><p class="admonition-title">Solución del
    <a href="#ej-1">Ejercicio 1</a></p></div>
  <div class="exercise admonition" id="ej-2"><p class="admonition-title">Ejercicio 2</p></div>
</section>
<section id="resumen"><h2>Resumen</h2>
  <figure id="fig-a"><img src="figura.png" alt="f"><figcaption><p>
    <span class="caption-number">Figura 1 </span>Nadie la cita.
    <a class="headerlink" href="#fig-a">#</a></p></figcaption></figure>
</section>
<section id="referencias"><h2>Referencias</h2><p>Véase la bibliografía.</p></section>
</section></article>
<div class="dropdown-download-buttons"><a href="_sources/cap.ipynb">.ipynb</a></div>
<div class="dropdown-launch-buttons">
  <a href="https://colab.research.google.com/github/x/y/blob/main/book/cap.ipynb">Colab</a></div>
</body></html>
"""

LAUNCH = """\
<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Botones</title></head>
<body><h1>Botones</h1>
<div class="dropdown-download-buttons"><a href="_sources/cap.ipynb">.ipynb</a></div>
<div class="dropdown-launch-buttons">
  <a href="https://mybinder.org/v2/gh/x/y/main?urlpath=lab/tree/book/cap.ipynb">Binder</a>
  <a href="https://colab.research.google.com/github/x/y/blob/main/book/otro.ipynb">Colab</a>
  <a href="https://hub.example.org/hub/user-redirect/git-pull?repo=x">JupyterHub</a></div>
</body></html>
"""

FORMULAS = """\
<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Fórmulas</title>
<script>window.MathJax = {options: {processHtmlClass: "math"}}</script>
<script defer src="mathjax/tex-chtml.js"></script></head>
<body><p>Bien: <span class="math">\\(x^2 + \\beta\\)</span>.
Mal: <span class="math">\\(x^2^3\\)</span> y <span class="math">\\(\\macrotypo x\\)</span>.</p>
</body></html>
"""


def _mathjax_dir() -> Path:
    """La copia de MathJax 3 que instala sphinx-mathjax-offline (la misma que usa el libro)."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    assert spec and spec.origin, "falta sphinx-mathjax-offline (requirements.txt)"
    return Path(spec.origin).parent / "static" / "mathjax"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Un sitio mínimo con una página correcta y otra rota, servido en 127.0.0.1."""
    root = tmp_path_factory.mktemp("sitio")
    (root / "index.html").write_text(GOOD, encoding="utf-8")
    (root / "bien.html").write_text(GOOD, encoding="utf-8")
    (root / "otra.html").write_text(OTHER, encoding="utf-8")
    (root / "roto.html").write_text(BROKEN, encoding="utf-8")
    (root / "capitulo.html").write_text(CHAPTER, encoding="utf-8")
    (root / "botones.html").write_text(LAUNCH, encoding="utf-8")
    (root / "formulas.html").write_text(FORMULAS, encoding="utf-8")
    (root / "sin_mathjax.html").write_text(
        FORMULAS.replace("mathjax/tex-chtml.js", "falta/tex-chtml.js"), encoding="utf-8"
    )
    (root / "mathjax").symlink_to(_mathjax_dir(), target_is_directory=True)
    (root / "_sources").mkdir()
    (root / "_sources" / "cap.ipynb").write_text("{}", encoding="utf-8")
    (root / "figura.png").write_bytes(_png())
    with site_check.serve(root) as base_url:
        yield root, base_url


@pytest.fixture
def small_site(served):
    """El sitio mínimo abierto en Chromium (un navegador por prueba: Playwright síncrono no
    admite dos sesiones a la vez, y ``check_site`` abre la suya)."""
    root, base_url = served
    with site_check.browser_context(base_url) as context:
        yield root, base_url, context


def _check(small_site, name, **kwargs):
    root, base_url, context = small_site
    return site_check.check_page(
        context, base_url + name, html_dir=root, base_url=base_url, **kwargs
    )


def test_correct_page_passes(small_site, tmp_path):
    report = _check(small_site, "bien.html", screenshot=tmp_path / "bien.png")
    assert report.problems == []
    assert report.images == 1
    assert report.links == 2  # el ancla y el enlace a otra página; el externo no cuenta
    assert (tmp_path / "bien.png").stat().st_size > 0


def test_broken_page_fails_for_each_fault(small_site):
    report = _check(small_site, "roto.html", notebook=True)
    text = "\n".join(report.problems)
    expected = [
        'lang="en"',
        "no tiene título",
        "TeX sin componer («$$»)",
        "TeX sin componer (delimitador",
        "TeX sin componer («\\begin{»)",
        "TeX sin componer (fórmula «$...$»)",
        "imagen que no carga: «falta.png»",
        "imagen de otro servidor: «https://example.org/logo.png»",
        "enlace roto «no-existe.html»",
        "no existe el ancla «#ancla-inexistente»",
        "interfaz en inglés: «Show code cell»",
        "error en la consola: fallo deliberado",
        "error de JavaScript",
        "falta el botón de descarga del cuaderno",
        "falta el botón de Colab",
        "figura sin número: fig-sin-numero",
        "el capítulo no tiene ejercicios",
    ]
    missing = [e for e in expected if e not in text]
    assert not missing, f"el comprobador no detectó {missing}; encontró:\n{text}"


def test_chapter_conventions(small_site):
    """Ejercicios con solución desplegable al final del capítulo (una sección «Referencias»
    detrás se admite) y figuras citadas."""
    report = _check(small_site, "capitulo.html", notebook=True)
    assert sorted(report.problems) == sorted(
        [
            "ejercicio sin solución ({solution}): ej-2",
            "1 soluciones no son desplegables (:class: dropdown)",
            "2 ejercicios fuera de la última sección («Resumen»): el capítulo debe terminar "
            "con los ejercicios",
            "figura que el texto no cita ({numref}): fig-a",
        ]
    )


def test_launch_buttons_lead_only_to_existing_environments(small_site):
    """Binder sin binder/, Colab hacia otro cuaderno o sin la celda de instalación y un servicio
    desconocido son problemas; con los entornos que existen, los mismos botones pasan."""
    launch = site_check.Launch(colab=True, binder=False, notebook="book/cap.ipynb")
    report = _check(small_site, "botones.html", notebook=True, launch=launch)
    assert sorted(report.problems) == sorted(
        [
            "botón de Binder sin entorno: el repositorio no tiene la carpeta binder/ "
            "(«https://mybinder.org/v2/gh/x/y/main?urlpath=lab/tree/book/cap.ipynb»)",
            "el botón de Colab no abre book/cap.ipynb: "
            "«https://colab.research.google.com/github/x/y/blob/main/book/otro.ipynb»",
            "botón de ejecución hacia un servicio desconocido: "
            "«https://hub.example.org/hub/user-redirect/git-pull?repo=x»",
            "el capítulo no tiene ejercicios ({exercise})",
        ]
    )
    no_colab = site_check.Launch(colab=False, binder=True, notebook="book/otro.ipynb")
    report = _check(small_site, "botones.html", notebook=True, launch=no_colab)
    assert "botón de Colab, pero la primera celda de código del cuaderno no instala" in (
        "\n".join(report.problems)
    )
    assert not any("Binder" in p for p in report.problems)


def test_mathjax_typesets_and_reports_tex_errors(small_site):
    """Con el MathJax local, cada fórmula se compone; un error de TeX es un problema."""
    report = _check(small_site, "formulas.html")
    assert report.formulas == 3
    assert report.problems == [
        "error de MathJax: «Double exponent: use braces to clarify»",
        "error de MathJax: «macro desconocida \\macrotypo»",
    ]


def test_missing_mathjax_fails(small_site):
    report = _check(small_site, "sin_mathjax.html")
    text = "\n".join(report.problems)
    assert "MathJax no se cargó y hay 3 fórmulas" in text
    assert "TeX sin componer (delimitador" in text
    assert "falta/tex-chtml.js" in text  # el 404 del script, en la consola


def test_missing_image_alone_fails(small_site):
    """Un solo fallo basta: la página correcta con una imagen que falta no pasa."""
    root, _, _ = small_site
    (root / "sin_imagen.html").write_text(
        GOOD.replace("figura.png", "otra_figura.png"), encoding="utf-8"
    )
    report = _check(small_site, "sin_imagen.html")
    assert report.problems[0] == "imagen que no carga: «otra_figura.png»"
    # El 404 de la imagen también deja un error en la consola, y nada más.
    assert len(report.problems) == 2
    assert report.problems[1].startswith("error en la consola: Failed to load resource")
    assert report.problems[1].endswith("otra_figura.png)")


def test_raw_formula_alone_fails(small_site):
    root, _, _ = small_site
    page = GOOD.replace("<h1", "<p>La varianza $\\sigma^2$ sin MathJax.</p><h1")
    (root / "formula_cruda.html").write_text(page, encoding="utf-8")
    report = _check(small_site, "formula_cruda.html")
    assert len(report.problems) == 1
    assert report.problems[0].startswith("TeX sin componer (fórmula «$...$»)")


def test_rendered_site(capsys):
    """Cada página de _toc.yml y la búsqueda, en el libro construido por ``make book-check``."""
    if not (site_check.ROOT / "_build" / "html" / "index.html").is_file():
        pytest.fail("No hay libro construido en _build/html: ejecute antes «make book-check».")
    report = site_check.check_site()
    with capsys.disabled():
        print("\n" + report.summary())
    checked = {p.path for p in report.pages}
    for source in toc_pages():
        assert site_check.html_path(source) in checked
    assert any(p.path.startswith("search.html") for p in report.pages)
    assert not report.problems, "\n".join(
        [
            "El sitio tiene problemas:",
            *report.problems,
            textwrap.dedent("""
        Las capturas de cada página están en _build/screenshots/."""),
        ]
    )
    assert sum(p.formulas for p in report.pages) > 0
    assert sum(p.images for p in report.pages) > 0
