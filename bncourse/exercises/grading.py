"""Maquinaria común de los correctores de :mod:`bncourse.exercises`: los casos de prueba, la
comparación con la referencia y el informe en español de lo primero que está mal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_bool, describe

__all__ = ["CheckReport", "ExerciseError"]


class ExerciseError(AssertionError):
    """Una implementación del lector no supera un corrector; el mensaje dice por qué."""


@dataclass(frozen=True)
class CheckReport:
    """Resultado de un corrector.

    Atributos
    ---------
    exercise:
        Nombre de la función corregida (``"batchnorm_forward"``...).
    passed:
        ``True`` si superó todas las pruebas.
    checks:
        Cuántas pruebas superó (todas, si ``passed``).
    message:
        Texto en español: la enhorabuena, o lo primero que está mal y en qué caso.
    """

    exercise: str
    passed: bool
    checks: int
    message: str

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:  # en un cuaderno, la última expresión de una celda se lee bien
        return self.message

    def __bool__(self) -> bool:
        return self.passed


@dataclass(frozen=True)
class _Case:
    """Un caso de prueba: una entrada y sus parámetros, con una descripción legible."""

    label: str
    x: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    eps: float
    rtol: float
    atol: float
    large_offset: bool = False


class _Failure(Exception):
    """Interna: lo primero que falla en un caso."""


def _axes(ndim: int) -> tuple[int, ...]:
    return (0,) if ndim == 2 else (0, 2, 3)


def _expand(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, -1) if ndim == 2 else (1, -1, 1, 1))


def _what(ndim: int) -> str:
    """«la característica» o «el canal», con su artículo."""
    return "la característica" if ndim == 2 else "el canal"


def _cases() -> list[_Case]:
    """Casos fijos (los mismos en cada ejecución, para que los mensajes sean reproducibles)."""
    rng = np.random.default_rng(20150211)  # semilla propia del corrector, no la del capítulo
    specs = [
        ("(N, D) = (8, 5), float64", (8, 5), np.float64, 0.0, 1e-5),
        ("(N, D) = (8, 5), float32", (8, 5), np.float32, 0.0, 1e-5),
        ("(N, C, H, W) = (4, 3, 2, 2), float64", (4, 3, 2, 2), np.float64, 0.0, 1e-5),
        ("(N, C, H, W) = (3, 2, 3, 2), float32", (3, 2, 3, 2), np.float32, 0.0, 1e-3),
        ("minilote de 2 ejemplos, (2, 4), float64", (2, 4), np.float64, 0.0, 1e-5),
        ("desplazamiento grande (media 10⁴), (16, 3), float32", (16, 3), np.float32, 1e4, 1e-5),
        ("eps grande (eps = 0.5), (6, 3), float64", (6, 3), np.float64, 0.0, 0.5),
    ]
    cases = []
    for label, shape, dtype, offset, eps in specs:
        num, ndim = shape[1], len(shape)
        scale = _expand(rng.uniform(0.5, 3.0, num), ndim)
        shift = _expand(rng.uniform(-2.0, 2.0, num), ndim)
        x = offset + shift + scale * rng.standard_normal(shape)
        gamma = rng.uniform(0.5, 2.0, num) * rng.choice([-1.0, 1.0], num)
        beta = rng.uniform(-1.0, 1.0, num)
        if offset:
            # Con media 10⁴ en float32, la entrada misma solo tiene unos 3 decimales: una
            # implementación correcta (media y después varianza de x − μ) acierta en torno a
            # 10⁻³; la fórmula E[x²] − E[x]² se equivoca en órdenes de magnitud.
            rtol, atol = 1e-2, 2e-2
        else:
            rtol, atol = (2e-4, 2e-5) if dtype == np.float32 else (1e-9, 1e-11)
        cases.append(_Case(label, x.astype(dtype), gamma.astype(dtype), beta.astype(dtype), eps,
                           rtol, atol, bool(offset)))
    return cases


def _call(fn: Callable[..., Any], name: str, case_label: str, *args: Any) -> Any:
    try:
        return fn(*args)
    except NotImplementedError:
        raise _Failure(
            f"«{name}» todavía lanza NotImplementedError: escriba su implementación en la celda "
            "del ejercicio y vuelva a ejecutarla."
        ) from None
    except Exception as error:  # el error del lector, explicado
        raise _Failure(
            f"«{name}» lanzó {type(error).__name__} con el caso {case_label}: {error}"
        ) from None


def _as_array(value: Any, name: str, shape: tuple[int, ...], dtype: np.dtype, case: str) -> np.ndarray:
    if isinstance(value, tuple) and value and isinstance(value[0], np.ndarray) and name == "out":
        value = value[0]  # admite (out, cache), como en CS231n
    if not isinstance(value, np.ndarray):
        raise _Failure(
            f"«{name}» debe ser un arreglo de NumPy; su función devolvió {describe(value)} "
            f"(caso {case})."
        )
    if value.shape != shape:
        raise _Failure(
            f"«{name}» debe tener forma {shape}; tiene forma {value.shape} (caso {case})."
        )
    if value.dtype != dtype:
        raise _Failure(
            f"«{name}» debe tener el tipo de la entrada, {dtype}; es {value.dtype} (caso {case}). "
            "Evite mezclar tipos: convierta las constantes al tipo de x."
        )
    if not np.all(np.isfinite(value)):
        raise _Failure(f"«{name}» contiene valores no finitos (NaN o infinito) en el caso {case}.")
    return value


def _first_difference(
    got: np.ndarray, want: np.ndarray, name: str, case: str, *, rtol: float, atol: float
) -> None:
    """Falla con la posición de la mayor diferencia si ``got`` y ``want`` no coinciden."""
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bound = atol + rtol * np.abs(want.astype(np.float64))
    if np.all(err <= bound):
        return
    idx = np.unravel_index(int(np.argmax(err - bound)), err.shape)
    pos = tuple(int(i) for i in idx)
    pos_text = pos[0] if len(pos) == 1 else pos
    raise _Failure(
        f"«{name}» difiere en {err[idx]:.3g} en la posición {pos_text} (caso {case}): "
        f"se esperaba {float(want[idx]):.6g} y su función dio {float(got[idx]):.6g}."
    )


def _ok(exercise: str, checks: int) -> CheckReport:
    return CheckReport(exercise, True, checks, f"✔ «{exercise}» supera las {checks} pruebas.")


def _report(
    exercise: str, run: Callable[[], int], raise_on_failure: bool
) -> CheckReport:
    raise_on_failure = check_bool(raise_on_failure, "raise_on_failure")
    try:
        checks = run()
    except _Failure as failure:
        report = CheckReport(exercise, False, 0, f"✘ «{exercise}»: {failure}")
        if raise_on_failure:
            raise ExerciseError(report.message) from None
        return report
    return _ok(exercise, checks)


def _check_callable(fn: Any, name: str) -> None:
    if not callable(fn):
        raise TypeError(f"El corrector espera su función «{name}»; se recibió {describe(fn)}.")
