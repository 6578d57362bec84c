"""Un perceptrón multicapa escrito solo con NumPy, cuya BN es :mod:`bncourse.batchnorm`.

Sirve para entrenar de verdad con la normalización por lotes de referencia (la del capítulo de
teoría) y comparar el resultado con la misma red en PyTorch. Cada capa oculta es
``Linear (sin sesgo) → BN → ReLU`` (con ``batchnorm=False``, ``Linear (con sesgo) → ReLU``) y la
última es lineal, con sesgo. La pérdida es la entropía cruzada de la *softmax*.

La clase guarda los parámetros en :attr:`NumpyMLP.params` (un diccionario de arreglos con
nombres como los de ``nn.Sequential`` de PyTorch) y las estadísticas de población en
:attr:`NumpyMLP.buffers`, que se actualizan con la convención de PyTorch (``momentum=0.1``,
varianza insesgada).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import check_array, check_bool, check_float, check_int, describe
from .batchnorm import (
    BatchNormCache,
    batchnorm_backward_alt,
    batchnorm_forward,
    update_running_stats,
)

__all__ = ["NumpyMLP", "softmax_cross_entropy"]


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Entropía cruzada media de la *softmax* y su gradiente respecto a ``logits``.

    Parámetros
    ----------
    logits:
        Arreglo ``(N, K)`` de reales finitos.
    labels:
        Enteros ``(N,)`` entre 0 y ``K - 1``.

    Devuelve
    --------
    ``(pérdida, dlogits)``; ``dlogits`` tiene la forma y el tipo de ``logits``.
    """
    logits = check_array(logits, "logits", ndim=2, dtype=np.floating, finite=True)
    labels = check_array(labels, "labels", ndim=1, dtype=np.integer)
    n, k = logits.shape
    if labels.shape[0] != n:
        raise ValueError(
            f"«labels» debe tener una etiqueta por fila de «logits» ({n}); tiene {labels.shape[0]}."
        )
    if n == 0:
        raise ValueError("«logits» no puede estar vacío.")
    if labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"«labels» debe estar entre 0 y {k - 1}; va de {labels.min()} a {labels.max()}.")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(n), labels].mean())
    grad = np.exp(log_probs)
    grad[np.arange(n), labels] -= 1.0
    return loss, (grad / n).astype(logits.dtype, copy=False)


class NumpyMLP:
    """Perceptrón multicapa con BN de referencia, entrenable con descenso por gradiente.

    Parámetros
    ----------
    sizes:
        Tamaños de las capas, de la entrada a la salida, p. ej. ``(784, 100, 100, 10)``: al menos
        dos, todos enteros positivos.
    batchnorm:
        Si es ``True`` (por defecto), BN tras cada capa oculta (y sus capas lineales sin sesgo).
    seed:
        Semilla de la inicialización de Kaiming (la uniforme de ``nn.Linear`` de PyTorch:
        ``U(-1/√fan_in, 1/√fan_in)`` para pesos y sesgos).
    eps, momentum:
        Los de ``nn.BatchNorm1d`` (``1e-5`` y ``0.1``).
    dtype:
        ``np.float64`` (por defecto) o ``np.float32``.
    """

    def __init__(
        self,
        sizes: tuple[int, ...] | list[int],
        *,
        batchnorm: bool = True,
        seed: int = 0,
        eps: float = 1e-5,
        momentum: float = 0.1,
        dtype: Any = np.float64,
    ) -> None:
        if not isinstance(sizes, tuple | list) or len(sizes) < 2:
            raise ValueError(
                "«sizes» debe ser una lista de al menos dos tamaños (entrada y salida); se "
                f"recibió {describe(sizes)}."
            )
        self.sizes = tuple(check_int(s, "sizes", minimum=1) for s in sizes)
        self.batchnorm = check_bool(batchnorm, "batchnorm")
        seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1)
        self.eps = check_float(eps, "eps", minimum=0.0, strict_minimum=True)
        self.momentum = check_float(momentum, "momentum", minimum=0.0, maximum=1.0)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"«dtype» debe ser float32 o float64; se recibió {self.dtype}.")
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.training = True
        index = 0
        for layer, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            bound = 1.0 / np.sqrt(fan_in)
            last = layer == len(self.sizes) - 2
            self.params[f"{index}.weight"] = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(
                self.dtype
            )
            if last or not self.batchnorm:
                self.params[f"{index}.bias"] = rng.uniform(-bound, bound, fan_out).astype(self.dtype)
            if last:
                break
            if self.batchnorm:
                index += 1
                self.params[f"{index}.weight"] = np.ones(fan_out, self.dtype)
                self.params[f"{index}.bias"] = np.zeros(fan_out, self.dtype)
                self.buffers[f"{index}.running_mean"] = np.zeros(fan_out, self.dtype)
                self.buffers[f"{index}.running_var"] = np.ones(fan_out, self.dtype)
                self.buffers[f"{index}.num_batches_tracked"] = np.array(0, dtype=np.int64)
            index += 2  # la ReLU ocupa un índice en nn.Sequential
        self._tape: list[tuple[str, Any]] = []

    # -- modos, como nn.Module -----------------------------------------------------------------

    def train(self, mode: bool = True) -> NumpyMLP:
        """Modo de entrenamiento (estadísticas del minilote) o, con ``False``, de inferencia."""
        self.training = check_bool(mode, "mode")
        return self

    def eval(self) -> NumpyMLP:
        """Modo de inferencia: BN usa las estadísticas de población."""
        return self.train(False)

    # -- pasadas --------------------------------------------------------------------------------

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Salidas (*logits*) ``(N, K)`` para la entrada ``(N, D)``; guarda lo que necesita
        :meth:`backward`. En modo de entrenamiento actualiza las estadísticas de población."""
        x = check_array(x, "x", ndim=2, dtype=np.floating, finite=True)
        if x.shape[1] != self.sizes[0]:
            raise ValueError(f"«x» debe tener {self.sizes[0]} columnas; tiene {x.shape[1]}.")
        h = x.astype(self.dtype, copy=False)
        self._tape = []
        index = 0
        hidden = len(self.sizes) - 2
        for layer in range(hidden + 1):
            w = self.params[f"{index}.weight"]
            b = self.params.get(f"{index}.bias")
            self._tape.append(("linear", (index, h)))
            h = h @ w.T + (b if b is not None else 0.0)
            if layer == hidden:
                break
            if self.batchnorm:
                index += 1
                mode = "train" if self.training else "inference"
                h, cache = batchnorm_forward(
                    h, self.params[f"{index}.weight"], self.params[f"{index}.bias"],
                    eps=self.eps, mode=mode,
                    running_mean=self.buffers[f"{index}.running_mean"],
                    running_var=self.buffers[f"{index}.running_var"],
                )
                if self.training:
                    mean, var = update_running_stats(
                        self.buffers[f"{index}.running_mean"], self.buffers[f"{index}.running_var"],
                        cache, convention="pytorch", momentum=self.momentum,
                    )
                    self.buffers[f"{index}.running_mean"], self.buffers[f"{index}.running_var"] = (
                        mean, var,
                    )
                    self.buffers[f"{index}.num_batches_tracked"] = (
                        self.buffers[f"{index}.num_batches_tracked"] + 1
                    )
                self._tape.append(("bn", (index, cache)))
            self._tape.append(("relu", h > 0))
            h = np.maximum(h, 0.0)
            index += 2
        return h

    __call__ = forward

    def backward(self, dout: np.ndarray) -> dict[str, np.ndarray]:
        """Gradientes de la pérdida respecto a cada parámetro, dado ``dout = dL/dlogits``.

        Usa lo que guardó la última llamada a :meth:`forward`, con la retropropagación de
        referencia de BN (:func:`bncourse.batchnorm.batchnorm_backward_alt`).
        """
        if not self._tape:
            raise RuntimeError("Llame a forward antes de backward: no hay nada que retropropagar.")
        grads: dict[str, np.ndarray] = {}
        g = check_array(dout, "dout", ndim=2, dtype=np.floating, finite=True).astype(self.dtype)
        for kind, saved in reversed(self._tape):
            if kind == "relu":
                g = g * saved
            elif kind == "bn":
                index, cache = saved
                assert isinstance(cache, BatchNormCache)
                g, dgamma, dbeta = batchnorm_backward_alt(g, cache)
                grads[f"{index}.weight"], grads[f"{index}.bias"] = dgamma, dbeta
            else:
                index, h = saved
                grads[f"{index}.weight"] = g.T @ h
                if f"{index}.bias" in self.params:
                    grads[f"{index}.bias"] = g.sum(axis=0)
                g = g @ self.params[f"{index}.weight"]
        return grads

    def sgd_step(self, grads: dict[str, np.ndarray], lr: float) -> None:
        """Un paso de descenso por gradiente: ``p ← p − lr·∂L/∂p`` para cada parámetro."""
        lr = check_float(lr, "lr", minimum=0.0, strict_minimum=True)
        missing = set(self.params) - set(grads)
        if missing:
            raise ValueError(f"Faltan los gradientes de {sorted(missing)}.")
        for name, grad in grads.items():
            self.params[name] = self.params[name] - self.dtype.type(lr) * grad

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Clase más probable de cada fila de ``x`` (en el modo actual)."""
        return self.forward(x).argmax(axis=1)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parámetros y búferes con los nombres de ``nn.Sequential`` (copias)."""
        return {k: v.copy() for k, v in {**self.params, **self.buffers}.items()}
