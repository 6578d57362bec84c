"""Ejecuciones listas para los barridos: :class:`MNISTRun` entrena un MLP sobre MNIST real.

Una instancia carga el subconjunto de MNIST una vez y, en cada llamada, construye la red de la
configuración pedida (con BN, BN ruidosa o fantasma, sondas y medición del paisaje de la
pérdida) y la entrena con :func:`~bncourse.torch.steps.train_steps`. Es la función que recibe
:func:`bncourse.sweep.run_sweep`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .. import reproducibility
from .._checks import check_bool, check_choice, check_float, check_int, describe
from .data import mnist_tensors
from .ics import gradient_ics
from .models import MLP
from .placement import keep_batchnorm_in
from .probes import UnitProbe, activation_module, gradient_landscape
from .steps import train_steps
from .variants import add_batchnorm_noise, use_ghost_batches

__all__ = ["MNISTRun"]

_UNSET: Any = object()


class MNISTRun:
    """Función de entrenamiento sobre MNIST real para :func:`bncourse.sweep.run_sweep`.

    Carga una vez un subconjunto estratificado de MNIST (``train_size`` ejemplos de
    entrenamiento y ``test_size`` de prueba, elegidos con ``data_seed``; ``None`` usa el
    conjunto entero) y, en cada llamada, construye un :class:`MLP` con la configuración pedida
    y lo entrena con :func:`train_steps`. Los argumentos con nombre del constructor fijan los
    valores por defecto, y los de cada llamada los sustituyen. Devuelve la lista de filas de
    :func:`train_steps`.

    Parámetros de la configuración
    ------------------------------
    norm, activation, hidden, init_std, dropout:
        Los de :class:`MLP`. Con ``norm="batch"``, las capas ocultas no llevan sesgo (BN ya
        resta la media), como en Ioffe y Szegedy (2015).
    noisy:
        ``None`` o un diccionario con los parámetros de :class:`NoisyBatchNorm1d`
        (solo con ``norm="batch"``): convierte cada BN en una BN ruidosa.
    ghost:
        ``None`` o el tamaño de grupo de :class:`GhostBatchNorm1d` (solo con ``norm="batch"``):
        BN calcula sus estadísticas sobre grupos de ese tamaño dentro de cada minilote.
    lr, optimizer, momentum, batch_size, steps, eval_every, seed, train_metrics:
        Los de :func:`train_steps`. ``seed`` fija también la inicialización (con
        :func:`bncourse.seed_everything`).
    probe_unit:
        Si es un entero, registra los percentiles de la entrada de esa unidad de la activación
        de la última capa oculta (columnas ``p15``, ``p50``, ``p85``).
    landscape:
        Si es una lista de tamaños de paso, mide en cada evaluación la suavidad de la pérdida
        con :func:`gradient_landscape` sobre un minilote fijo de entrenamiento.
    ics:
        Si es ``True``, mide en cada evaluación el desplazamiento interno de covariables de
        Santurkar et al. (2018) con :func:`~bncourse.torch.ics.gradient_ics` (columnas
        ``ics_l2``, ``ics_rel``, ``ics_cos`` y las de cada capa), sobre un minilote de
        entrenamiento nuevo en cada evaluación y con la tasa ``lr``.
    bn_layers:
        ``None`` (BN en todas las capas ocultas, si ``norm="batch"``) o la lista de capas
        ocultas que llevan BN (solo con ``norm="batch"``; véase
        :func:`~bncourse.torch.placement.keep_batchnorm_in`). Con una lista, todas las capas
        lineales llevan sesgo.

    Ejemplo::

        run = MNISTRun(train_size=10_000, test_size=2000, steps=500)
        table = run_sweep(expand_grid(norm=["none", "batch"], lr=[0.01, 0.1, 1.0]), run)
    """

    def __init__(
        self,
        *,
        train_size: int | None = 10_000,
        test_size: int | None = 2000,
        data_seed: int = 0,
        data_dir: str | os.PathLike[str] | None = None,
        norm: str = "none",
        activation: str = "relu",
        hidden: Sequence[int] = (100, 100, 100),
        init_std: float | None = None,
        dropout: float = 0.0,
        noisy: dict[str, float] | None = None,
        ghost: int | None = None,
        lr: float = 0.1,
        optimizer: str = "sgd",
        momentum: float = 0.0,
        batch_size: int = 60,
        steps: int = 1000,
        eval_every: int = 100,
        seed: int = 0,
        train_metrics: bool = False,
        probe_unit: int | None = None,
        landscape: Sequence[float] | None = None,
        ics: bool = False,
        bn_layers: Sequence[int] | None = None,
    ) -> None:
        self.train, self.test = mnist_tensors(
            train_size, test_size, seed=data_seed, data_dir=data_dir
        )
        self.defaults: dict[str, Any] = {
            "norm": norm,
            "activation": activation,
            "hidden": hidden,
            "init_std": init_std,
            "dropout": dropout,
            "noisy": noisy,
            "ghost": ghost,
            "lr": lr,
            "optimizer": optimizer,
            "momentum": momentum,
            "batch_size": batch_size,
            "steps": steps,
            "eval_every": eval_every,
            "seed": seed,
            "train_metrics": train_metrics,
            "probe_unit": probe_unit,
            "landscape": landscape,
            "ics": ics,
            "bn_layers": bn_layers,
        }
        # Los valores por defecto se comprueban antes de entrenar (construir la red valida los
        # de la arquitectura).
        self.build(self.defaults)
        self._validate(self.defaults)

    def _validate(self, config: dict[str, Any]) -> None:
        """Comprueba lo que no comprueba :meth:`build` (entrenamiento, sonda, paisaje)."""
        check_int(config["seed"], "seed", minimum=0)
        check_float(config["lr"], "lr", minimum=0.0, strict_minimum=True)
        check_int(config["steps"], "steps", minimum=1)
        check_int(config["eval_every"], "eval_every", minimum=1)
        check_int(config["batch_size"], "batch_size", minimum=1, maximum=len(self.train))
        check_bool(config["train_metrics"], "train_metrics")
        check_bool(config["ics"], "ics")
        if config["probe_unit"] is not None:
            width = tuple(config["hidden"])[-1]
            check_int(config["probe_unit"], "probe_unit", minimum=0, maximum=width - 1)
        if config["landscape"] is not None:
            steps = config["landscape"]
            if isinstance(steps, str) or not isinstance(steps, Sequence) or not steps:
                raise TypeError(
                    "«landscape» debe ser None o una lista de tamaños de paso; se recibió "
                    f"{describe(steps)}."
                )
            for eta in steps:
                check_float(eta, "landscape", minimum=0.0, strict_minimum=True)

    def build(self, config: dict[str, Any]) -> nn.Module:
        """Construye (sin entrenar) la red de la configuración ``config`` completa."""
        check_choice(config["optimizer"], "optimizer", ("sgd", "adam"))
        model = MLP(
            784,
            config["hidden"],
            norm=config["norm"],
            activation=config["activation"],
            init_std=config["init_std"],
            dropout=config["dropout"],
            bias=config["norm"] != "batch" or config["bn_layers"] is not None,
        )
        if config["bn_layers"] is not None:
            if config["norm"] != "batch":
                raise ValueError(
                    "«bn_layers» solo tiene sentido con norm='batch'; se pidió "
                    f"norm={config['norm']!r}."
                )
            keep_batchnorm_in(model, config["bn_layers"])
        if config["noisy"] is not None:
            if config["norm"] != "batch":
                raise ValueError(
                    f"«noisy» solo tiene sentido con norm='batch'; se pidió norm={config['norm']!r}."
                )
            if not isinstance(config["noisy"], dict):
                raise TypeError(
                    "«noisy» debe ser None o un diccionario de parámetros del ruido; se recibió "
                    f"{describe(config['noisy'])}."
                )
            add_batchnorm_noise(model, **config["noisy"])
        if config["ghost"] is not None:
            if config["norm"] != "batch" or config["noisy"] is not None:
                raise ValueError(
                    "«ghost» solo tiene sentido con norm='batch' y sin «noisy»; se pidió "
                    f"norm={config['norm']!r}, noisy={config['noisy']!r}."
                )
            use_ghost_batches(model, config["ghost"])
        return model

    def __call__(
        self,
        *,
        norm: str = _UNSET,
        activation: str = _UNSET,
        hidden: Sequence[int] = _UNSET,
        init_std: float | None = _UNSET,
        dropout: float = _UNSET,
        noisy: dict[str, float] | None = _UNSET,
        ghost: int | None = _UNSET,
        lr: float = _UNSET,
        optimizer: str = _UNSET,
        momentum: float = _UNSET,
        batch_size: int = _UNSET,
        steps: int = _UNSET,
        eval_every: int = _UNSET,
        seed: int = _UNSET,
        train_metrics: bool = _UNSET,
        probe_unit: int | None = _UNSET,
        landscape: Sequence[float] | None = _UNSET,
        ics: bool = _UNSET,
        bn_layers: Sequence[int] | None = _UNSET,
    ) -> list[dict[str, float]]:
        given = dict(locals())
        del given["self"]
        config = {k: (self.defaults[k] if v is _UNSET else v) for k, v in given.items()}
        seed = check_int(config["seed"], "seed", minimum=0)
        reproducibility.seed_everything(seed)
        model = self.build(config)  # una sola vez: también valida la arquitectura
        self._validate(config)
        measures = []
        x, y = self.train.tensors
        if config["landscape"] is not None:
            etas = [float(eta) for eta in config["landscape"]]
            gen = torch.Generator().manual_seed(seed + 12345)
            idx = torch.randperm(len(x), generator=gen)[: config["batch_size"]]
            xb, yb = x[idx], y[idx]
            measures.append(lambda m: gradient_landscape(m, xb, yb, etas, seed=seed))
        if config["ics"]:
            ics_gen = torch.Generator().manual_seed(seed + 54321)
            ics_lr, ics_batch = float(config["lr"]), config["batch_size"]

            def measure_ics(m: nn.Module) -> dict[str, float]:
                idx = torch.randperm(len(x), generator=ics_gen)[:ics_batch]
                return gradient_ics(m, x[idx], y[idx], ics_lr, seed=seed)

            measures.append(measure_ics)
        measure = None
        if measures:

            def measure(m: nn.Module) -> dict[str, float]:
                row: dict[str, float] = {}
                for f in measures:
                    row.update(f(m))
                return row

        probe = None
        if config["probe_unit"] is not None:
            probe = UnitProbe(activation_module(model, -1), config["probe_unit"])
        return train_steps(
            model,
            self.train,
            self.test,
            steps=config["steps"],
            batch_size=config["batch_size"],
            lr=config["lr"],
            optimizer=config["optimizer"],
            momentum=config["momentum"],
            eval_every=config["eval_every"],
            seed=seed,
            train_metrics=config["train_metrics"],
            probe=probe,
            measure=measure,
        )
