"""Todas las figuras del libro y su estilo común.

Todas las figuras usan la paleta de Okabe e Ito, pensada para ser distinguible por personas con
daltonismo, y rótulos en español. Llame a :func:`set_book_style` al principio de cada capítulo.

- :mod:`~bncourse.plotting.style`: :data:`PALETTE` y :func:`set_book_style`;
- :mod:`~bncourse.plotting.images`: :func:`image_grid`, una rejilla de imágenes con su clase;
- :mod:`~bncourse.plotting.history`: :func:`plot_history`, pérdida y exactitud por época de
  uno o varios :class:`~bncourse.History` (PyTorch y Keras);
- :mod:`~bncourse.plotting.sweeps`: :func:`plot_sweep_curves` y :func:`plot_sweep_final`, las
  figuras de una tabla de :func:`bncourse.sweep.run_sweep`, con rótulos en español por defecto
  (:func:`axis_label`).

Importar este paquete no importa matplotlib: cada función lo importa al dibujar.
"""

from .history import plot_history
from .images import image_grid
from .style import PALETTE, set_book_style
from .sweeps import AXIS_LABELS, axis_label, plot_sweep_curves, plot_sweep_final

__all__ = [
    "AXIS_LABELS",
    "PALETTE",
    "axis_label",
    "image_grid",
    "plot_history",
    "plot_sweep_curves",
    "plot_sweep_final",
    "set_book_style",
]
