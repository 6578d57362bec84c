"""La evolución de los límites de la renormalización por lotes (Ioffe, 2017), sin marcos.

La comparten la capa de PyTorch (:class:`bncourse.torch.BatchRenorm`) y el *callback* de Keras
(:class:`bncourse.keras.RenormSchedule`), así que las dos siguen exactamente la misma evolución.
"""

from __future__ import annotations

from .._checks import check_float, check_int

__all__ = ["renorm_limits"]


def renorm_limits(
    step: int,
    *,
    r_max: float = 3.0,
    d_max: float = 5.0,
    warmup_steps: int = 0,
    r_max_steps: int = 0,
    d_max_steps: int = 0,
) -> tuple[float, float]:
    """Límites ``(r_max, d_max)`` de la renormalización por lotes en el paso ``step`` (desde 0).

    Como en la sección 4 de Ioffe (2017): durante los primeros ``warmup_steps`` pasos,
    ``r_max = 1`` y ``d_max = 0`` (la capa es exactamente BN); después, ``r_max`` crece en línea
    recta hasta su valor final en ``r_max_steps`` pasos y ``d_max`` hasta el suyo en
    ``d_max_steps`` pasos, y se quedan ahí. Con 0 pasos (por defecto), el límite final rige
    desde el primer paso tras el calentamiento. El artículo usa ``r_max = 3`` y ``d_max = 5``.
    La siguen ``bncourse.torch.BatchRenorm`` y ``bncourse.keras.RenormSchedule``.
    """
    step = check_int(step, "step", minimum=0)
    r_max = check_float(r_max, "r_max", minimum=1.0)
    d_max = check_float(d_max, "d_max", minimum=0.0)
    warmup_steps = check_int(warmup_steps, "warmup_steps", minimum=0)
    r_max_steps = check_int(r_max_steps, "r_max_steps", minimum=0)
    d_max_steps = check_int(d_max_steps, "d_max_steps", minimum=0)
    if step < warmup_steps:
        return 1.0, 0.0
    progress = step - warmup_steps
    r = 1.0 + (r_max - 1.0) * (min(1.0, progress / r_max_steps) if r_max_steps else 1.0)
    d = d_max * (min(1.0, progress / d_max_steps) if d_max_steps else 1.0)
    return r, d
