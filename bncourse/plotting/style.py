"""El estilo común de las figuras del libro: la paleta de Okabe e Ito y los ajustes de matplotlib."""

from __future__ import annotations

__all__ = ["PALETTE", "set_book_style"]

PALETTE: tuple[str, ...] = (
    "#0072B2",  # azul
    "#D55E00",  # bermellón
    "#009E73",  # verde azulado
    "#CC79A7",  # púrpura rojizo
    "#E69F00",  # naranja
    "#56B4E9",  # celeste
    "#F0E442",  # amarillo
    "#000000",  # negro
)
"""Paleta de Okabe e Ito (2008), segura para la visión de color atípica."""


def set_book_style() -> None:
    """Aplica el estilo común del libro a matplotlib: paleta, tamaños, rejilla y resolución.

    Las cifras usan punto decimal, como las salidas impresas por Python, para que lo impreso y lo
    dibujado coincidan.
    """
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=list(PALETTE)),
            "figure.figsize": (8.0, 4.0),
            "figure.dpi": 90,
            "savefig.dpi": 90,
            "figure.constrained_layout.use": True,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "legend.fontsize": 9,
            "legend.frameon": False,
            "font.size": 10,
            "image.cmap": "gray",
            "svg.hashsalt": "bncourse",
        }
    )
