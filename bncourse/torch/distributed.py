"""BN en entrenamiento distribuido con ``torch.distributed``: procesos, capa sincronizada y DDP.

- :func:`launch`: ejecuta una función del paquete en ``world_size`` procesos de esta máquina,
  con el *backend* ``gloo`` en 127.0.0.1, un puerto libre y un límite de tiempo; devuelve lo
  que devuelve cada proceso y, si alguno falla, lanza :class:`WorkerError` en el proceso padre
  con su rango y su traza, sin dejar procesos vivos. Funciona desde un cuaderno de Jupyter
  (contexto ``spawn``): la función debe estar definida en un módulo importable, no en una celda.
- :class:`CrossReplicaBatchNorm` y :func:`convert_model`: BN cuyas estadísticas de
  entrenamiento se reducen entre todos los procesos con una reducción global (*all-reduce*) de
  (número de valores, suma, suma de cuadrados), derivable. En CUDA usa ``nn.SyncBatchNorm``.
- :func:`ddp_train`: bucle de entrenamiento con ``DistributedDataParallel`` y
  ``DistributedSampler`` que devuelve el :class:`~bncourse.History` del curso y las
  estadísticas de población con que termina cada rango (:class:`DistributedRun`).
- :class:`PerDeviceBatchNorm`, :func:`use_per_device_batchnorm` y :func:`train_like_ddp`: el
  equivalente en un solo proceso (BN «fantasma» sobre los mismos grupos de imágenes que vería
  cada dispositivo), para barrer muchos tamaños sin lanzar procesos.
- :func:`call_all`, :func:`cross_replica_check` y :func:`ddp_gradients`: funciones para
  :func:`launch` que hacen varias cosas en un solo lanzamiento (arrancar procesos cuesta
  segundos).
"""

from __future__ import annotations

import copy
import inspect
import math
import os
import pickle
import queue as queue_module
import socket
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from .._checks import check_bool, check_choice, check_float, check_int, describe
from ..history import History
from .training import as_tensors, check_model, evaluate, make_optimizer

__all__ = [
    "CrossReplicaBatchNorm",
    "DistributedRun",
    "PerDeviceBatchNorm",
    "WorkerError",
    "WorkerTimeout",
    "call_all",
    "convert_model",
    "cross_replica_check",
    "ddp_gradients",
    "ddp_train",
    "find_free_port",
    "global_batch_order",
    "launch",
    "train_like_ddp",
    "use_per_device_batchnorm",
]

_BatchNorm = nn.modules.batchnorm._BatchNorm


# ---------------------------------------------------------------------------------------------
# Lanzador de procesos
# ---------------------------------------------------------------------------------------------


class WorkerError(RuntimeError):
    """Un proceso lanzado por :func:`launch` falló; ``rank`` es su rango y ``remote_traceback``
    la traza del error en ese proceso. ``pids`` son los identificadores de todos los procesos
    lanzados (ya terminados cuando se lanza la excepción)."""

    def __init__(self, rank: int, summary: str, remote_traceback: str, pids: list[int]) -> None:
        self.rank = rank
        self.summary = summary
        self.remote_traceback = remote_traceback
        self.pids = pids
        super().__init__(
            f"El proceso de rango {rank} falló: {summary}\n\n"
            f"Traza del error en el proceso de rango {rank}:\n{remote_traceback}"
        )


class WorkerTimeout(TimeoutError):
    """Los procesos de :func:`launch` no terminaron a tiempo; ``pids`` son los que se lanzaron
    (ya terminados cuando se lanza la excepción) y ``pending`` los rangos que no respondieron."""

    def __init__(self, message: str, pids: list[int], pending: list[int]) -> None:
        self.pids = pids
        self.pending = pending
        super().__init__(message)


def find_free_port() -> int:
    """Un puerto TCP libre de 127.0.0.1, elegido por el sistema operativo."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise OSError(
                f"El puerto {port} de 127.0.0.1 ya está en uso ({exc.strerror}): elija otro o "
                "deje «port=None» para que se busque uno libre."
            ) from None


def _check_worker_function(fn: Any) -> None:
    if not callable(fn):
        raise TypeError(f"«fn» debe ser una función; se recibió {describe(fn)}.")
    hint = (
        "Los procesos se crean con «spawn» y reciben la función por referencia: defínala en el "
        "nivel superior de un módulo importable (por ejemplo, en bncourse), no en una celda de un "
        "cuaderno, ni dentro de otra función, ni como lambda."
    )
    qualname = getattr(fn, "__qualname__", "")
    module = getattr(fn, "__module__", None)
    main = sys.modules.get("__main__")
    if module == "__main__" and not getattr(main, "__file__", None):
        raise TypeError(f"«fn» ({qualname}) está definida en el intérprete o en un cuaderno. {hint}")
    if "<lambda>" in qualname or "<locals>" in qualname:
        raise TypeError(f"«fn» ({qualname}) no se puede enviar a otro proceso. {hint}")
    try:
        pickle.dumps(fn)
    except Exception as exc:  # PicklingError, AttributeError, TypeError...
        raise TypeError(f"«fn» no se puede serializar con pickle ({exc}). {hint}") from None


def _worker_main(
    rank: int,
    world_size: int,
    port: int,
    backend: str,
    threads: int | None,
    timeout: float,
    payload: bytes,
    results: Any,
) -> None:
    """Punto de entrada de cada proceso: inicia el grupo, llama a ``fn`` y envía el resultado.

    ``payload`` es ``(fn, args, kwargs)`` serializado con ``pickle`` normal: así cada proceso
    recibe **su copia** de los tensores. (Si se pasaran tal cual, ``torch.multiprocessing`` los
    compartiría en memoria entre todos los procesos: un modelo tendría un solo juego de pesos y
    de búferes para todas las réplicas.)
    """
    try:
        fn, args, kwargs = pickle.loads(payload)
        if threads is not None:
            torch.set_num_threads(threads)
        if sys.platform.startswith("linux"):
            # gloo elige la interfaz de red por el nombre de la máquina, que en un contenedor
            # puede no resolverse; entre procesos de la misma máquina basta la interfaz local.
            os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
        dist.init_process_group(
            backend,
            init_method=f"tcp://127.0.0.1:{port}",
            rank=rank,
            world_size=world_size,
            timeout=timedelta(seconds=timeout),
        )
        value = fn(*args, **kwargs)
        try:
            message = pickle.dumps((rank, True, value, ""))
        except Exception as exc:
            raise TypeError(
                f"El resultado de «fn» no se puede serializar con pickle para enviarlo al proceso "
                f"padre ({exc}); devuelva tensores, arreglos, números o diccionarios de ellos."
            ) from None
    except BaseException as exc:
        summary = f"{type(exc).__name__}: {exc}"
        message = pickle.dumps((rank, False, summary, traceback.format_exc()))
    results.put(message)
    if dist.is_initialized():
        try:
            dist.destroy_process_group()
        except Exception:  # el padre recoge el resultado igualmente
            pass


def _stop(processes: list[Any], *, graceful: bool) -> None:
    """Espera (o termina) los procesos: ``join``; si siguen vivos, ``terminate``; luego ``kill``."""
    processes = [p for p in processes if p.pid is not None]  # solo los que llegaron a arrancar
    if graceful:  # ya han enviado su resultado: se les dan 2 s para cerrar el grupo y salir
        deadline = time.monotonic() + 2.0
        for p in processes:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
    for p in processes:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + 3.0
    for p in processes:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
    for p in processes:
        if p.is_alive():
            p.kill()
    for p in processes:
        p.join()


def launch(
    fn: Callable[..., Any],
    world_size: int,
    *,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    timeout: float = 300.0,
    port: int | None = None,
    threads: int | None = 1,
    backend: str = "gloo",
) -> list[Any]:
    """Ejecuta ``fn(*args, **kwargs)`` en ``world_size`` procesos con un grupo de procesos iniciado.

    Cada proceso (rango 0, 1, ...) inicia ``torch.distributed`` con ``backend`` sobre
    127.0.0.1 y llama a ``fn``; dentro, ``dist.get_rank()`` y ``dist.get_world_size()`` dicen
    quién es cada uno. Devuelve la lista de resultados, en orden de rango (deben poder
    serializarse con pickle).

    Parámetros
    ----------
    fn:
        Función definida en el nivel superior de un módulo importable (los procesos se crean con
        ``spawn``, también desde Jupyter, y la reciben por referencia).
    world_size:
        Número de procesos (≥ 1).
    args, kwargs:
        Argumentos de ``fn``; se copian a cada proceso.
    timeout:
        Segundos para que terminen todos, arranque incluido; también es el límite de espera de
        cada operación colectiva. Si se agota, se terminan los procesos y se lanza
        :class:`WorkerTimeout`.
    port:
        Puerto de 127.0.0.1 del punto de encuentro; ``None`` busca uno libre. Si el que se da
        está en uso, ``OSError``.
    threads:
        Hilos de PyTorch de cada proceso (``torch.set_num_threads``); 1 por defecto, para que
        los procesos no compitan por los núcleos y el resultado no dependa de la máquina.
        ``None`` no lo cambia.
    backend:
        ``"gloo"`` (CPU; el de este libro) o ``"nccl"`` (GPU).

    Si un proceso lanza una excepción, los demás se terminan (``terminate`` y, si hace falta,
    ``kill``) y se lanza :class:`WorkerError` con su rango y su traza.
    """
    _check_worker_function(fn)
    world_size = check_int(world_size, "world_size", minimum=1)
    timeout = check_float(timeout, "timeout", minimum=0.0, strict_minimum=True)
    if threads is not None:
        threads = check_int(threads, "threads", minimum=1)
    check_choice(backend, "backend", ("gloo", "nccl"))
    if isinstance(args, str | bytes) or not isinstance(args, Sequence):
        raise TypeError(f"«args» debe ser una tupla o una lista; se recibió {describe(args)}.")
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        raise TypeError(f"«kwargs» debe ser un diccionario; se recibió {describe(kwargs)}.")
    try:
        payload = pickle.dumps((fn, tuple(args), kwargs))
    except Exception as exc:
        raise TypeError(
            f"Los argumentos de «fn» no se pueden serializar con pickle para enviarlos a los "
            f"procesos ({exc})."
        ) from None
    if port is None:
        port = find_free_port()
    else:
        port = check_int(port, "port", minimum=1, maximum=65535)
        _check_port_free(port)

    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    processes = [
        ctx.Process(
            target=_worker_main,
            args=(rank, world_size, port, backend, threads, timeout, payload, results),
            daemon=True,
        )
        for rank in range(world_size)
    ]
    deadline = time.monotonic() + timeout
    values: dict[int, Any] = {}
    pids: list[int] = []
    ok = False
    try:
        for p in processes:
            p.start()
            pids.append(int(p.pid or 0))
        while len(values) < world_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pending = sorted(set(range(world_size)) - set(values))
                raise WorkerTimeout(
                    f"Los procesos no terminaron en {timeout:g} s (faltan los rangos {pending}); "
                    "se han terminado todos. Aumente «timeout» o revise si alguno espera una "
                    "operación colectiva que los demás no hacen.",
                    pids,
                    pending,
                )
            try:
                message = results.get(timeout=min(0.2, remaining))
            except queue_module.Empty:
                for rank, p in enumerate(processes):
                    if rank not in values and p.exitcode is not None:
                        try:  # el mensaje puede estar aún en la tubería
                            message = results.get(timeout=1.0)
                            break
                        except queue_module.Empty:
                            raise WorkerError(
                                rank,
                                f"terminó con el código {p.exitcode} sin devolver un resultado",
                                "(no hay traza: el proceso terminó sin llegar a enviarla)\n",
                                pids,
                            ) from None
                else:
                    continue
            rank, success, value, remote_tb = pickle.loads(message)
            if not success:
                raise WorkerError(rank, value, remote_tb, pids)
            values[rank] = value
        ok = True
    finally:
        _stop(processes, graceful=ok)
        results.close()
        results.cancel_join_thread()
    return [values[rank] for rank in range(world_size)]


def call_all(calls: Sequence[tuple[Callable[..., Any], Sequence[Any], dict[str, Any]]]) -> list[Any]:
    """Ejecuta varias llamadas ``(fn, args, kwargs)`` seguidas y devuelve sus resultados.

    Pensada para :func:`launch`: hace varias cosas en un solo lanzamiento de procesos.
    """
    out = []
    for item in calls:
        if not isinstance(item, tuple | list) or len(item) != 3 or not callable(item[0]):
            raise TypeError(
                "Cada llamada de «calls» debe ser una tupla (función, args, kwargs); se recibió "
                f"{describe(item)}."
            )
        fn, args, kwargs = item
        out.append(fn(*args, **kwargs))
    return out


def _require_group(name: str) -> tuple[int, int]:
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError(
            f"{name} debe ejecutarse con un grupo de procesos iniciado (por ejemplo, dentro de "
            "bncourse.torch.launch)."
        )
    return dist.get_rank(), dist.get_world_size()


# ---------------------------------------------------------------------------------------------
# BN entre réplicas
# ---------------------------------------------------------------------------------------------


def _worker_device(device: str | None, rank: int) -> torch.device:
    """El dispositivo de un rango: ``device`` o, si es ``None``, la GPU ``rank`` con NCCL y la CPU con gloo."""
    if device is None:
        device = f"cuda:{rank}" if dist.get_backend() == "nccl" else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    return dev


class _CrossReplicaFunction(torch.autograd.Function):
    """BN con estadísticas globales: una reducción de (n, Σx, Σx²) hacia delante y otra de
    (Σ dy, Σ dy·x̂) hacia atrás, como ``SyncBatchNorm``."""

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        weight: torch.Tensor | None,
        bias: torch.Tensor | None,
        eps: float,
        group: Any,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        channels = x.shape[1]
        dims = [0, *range(2, x.ndim)]
        stats = torch.empty(2 * channels + 1, dtype=torch.float64, device=x.device)
        stats[0] = x.numel() // channels if channels else 0
        stats[1 : channels + 1] = x.sum(dims, dtype=torch.float64)
        stats[channels + 1 :] = x.square().sum(dims, dtype=torch.float64)
        dist.all_reduce(stats, group=group)  # una sola reducción por capa y paso
        count = stats[0]
        if float(count) <= 1:
            raise ValueError(
                "La BN entre réplicas necesita más de un valor por canal sumando todos los "
                f"procesos; hay {int(count)}."
            )
        mean = stats[1 : channels + 1] / count
        var = (stats[channels + 1 :] / count - mean.square()).clamp_min(0.0)  # sesgada
        shape = [1, channels] + [1] * (x.ndim - 2)
        invstd = torch.rsqrt(var + eps).to(x.dtype).view(shape)
        xhat = (x - mean.to(x.dtype).view(shape)) * invstd
        out = xhat
        if weight is not None:
            out = out * weight.view(shape)
        if bias is not None:
            out = out + bias.view(shape)
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.count = float(count)
        ctx.group = group
        ctx.has_bias = bias is not None
        count_t = count.reshape(1)
        ctx.mark_non_differentiable(mean, var, count_t)
        return out, mean, var, count_t

    @staticmethod
    def backward(
        ctx: Any, grad_out: torch.Tensor, *_: Any
    ) -> tuple[torch.Tensor | None, ...]:
        xhat, invstd, weight = ctx.saved_tensors
        channels = xhat.shape[1]
        dims = [0, *range(2, xhat.ndim)]
        shape = [1, channels] + [1] * (xhat.ndim - 2)
        sum_dy = grad_out.sum(dims, dtype=torch.float64)
        sum_dy_xhat = (grad_out * xhat).sum(dims, dtype=torch.float64)
        grad_x = grad_w = grad_b = None
        if weight is not None and ctx.needs_input_grad[1]:
            grad_w = sum_dy_xhat.to(weight.dtype)  # locales: DDP promedia los gradientes
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = sum_dy.to(grad_out.dtype)
        if ctx.needs_input_grad[0]:
            sums = torch.cat([sum_dy, sum_dy_xhat])
            dist.all_reduce(sums, group=ctx.group)
            mean_dy = (sums[:channels] / ctx.count).to(grad_out.dtype).view(shape)
            mean_dy_xhat = (sums[channels:] / ctx.count).to(grad_out.dtype).view(shape)
            scale = invstd if weight is None else invstd * weight.view(shape)
            grad_x = (grad_out - mean_dy - xhat * mean_dy_xhat) * scale
        return grad_x, grad_w, grad_b, None, None


class CrossReplicaBatchNorm(nn.BatchNorm2d):
    """BN cuyas estadísticas de entrenamiento se calculan sobre el minilote de **todos** los procesos.

    Sirve para entradas ``(N, C)``, ``(N, C, L)`` y ``(N, C, H, W)`` (sustituye a
    ``nn.BatchNorm1d`` y ``nn.BatchNorm2d``) y tiene sus parámetros, sus búferes
    (``running_mean``, ``running_var`` y ``num_batches_tracked``) y su semántica de
    ``momentum``, ``eps``, ``affine``, ``track_running_stats``, ``train()`` y ``eval()``. Es
    una subclase de ``nn.BatchNorm2d`` (que admite aquí también entradas de 2 y 3 dimensiones)
    para que las herramientas que buscan las capas BN de un modelo, como
    :func:`bncourse.torch.recompute_bn_stats`, la encuentren.

    En modo de entrenamiento, con un grupo de procesos de más de un proceso, cada capa hace una
    reducción global (``dist.all_reduce``) de (número de valores, suma y suma de cuadrados) por
    canal: la media y la varianza (sesgada) son las del minilote global, también con trozos de
    tamaños distintos, y la varianza de población se actualiza con la corrección
    :math:`n/(n-1)` del número **global** de valores. Hacia atrás, otra reducción suma
    :math:`\\sum dy` y :math:`\\sum dy\\,\\hat x`: el gradiente es el de una sola BN sobre el
    minilote global. Sin grupo de procesos (o con uno de un solo proceso) y en modo de
    inferencia es exactamente ``nn.BatchNorm*d``. Con tensores de GPU delega en la propagación
    de ``nn.SyncBatchNorm`` (NCCL).
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group: Any = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device=device, dtype=dtype
        )
        self.process_group = process_group

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(input)
        if input.device.type != "cpu":
            # La misma propagación que nn.SyncBatchNorm (sus atributos son los de esta capa).
            return nn.SyncBatchNorm.forward(self, input)  # type: ignore[arg-type]
        self._check_non_zero_input_channels(input)
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        group = self.process_group or (dist.group.WORLD if dist.is_initialized() else None)
        if not (
            bn_training
            and self.training
            and dist.is_available()
            and dist.is_initialized()
            and dist.get_world_size(group) > 1
        ):
            return super().forward(input)  # no hay que sincronizar: la BN de PyTorch
        out, mean, var, count = _CrossReplicaFunction.apply(
            input, self.weight, self.bias, self.eps, group
        )
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                assert self.num_batches_tracked is not None and self.running_var is not None
                self.num_batches_tracked.add_(1)
                if self.momentum is None:  # media acumulada, como en PyTorch
                    m = 1.0 / float(self.num_batches_tracked)
                else:
                    m = self.momentum
                n = float(count)
                self.running_mean.mul_(1 - m).add_(m * mean.to(self.running_mean.dtype))
                unbiased = var * (n / (n - 1))
                self.running_var.mul_(1 - m).add_(m * unbiased.to(self.running_var.dtype))
        return out

    def _check_non_zero_input_channels(self, input: torch.Tensor) -> None:
        nn.SyncBatchNorm._check_non_zero_input_channels(self, input)  # type: ignore[arg-type]

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2 or input.dim() > 5:
            raise ValueError(
                f"CrossReplicaBatchNorm espera una entrada de 2 a 5 dimensiones (N, C, ...); "
                f"recibió {input.dim()}."
            )


def convert_model(model: nn.Module, process_group: Any = None) -> nn.Module:
    """Sustituye cada capa BN de ``model`` por una :class:`CrossReplicaBatchNorm` y devuelve el modelo.

    Como ``nn.SyncBatchNorm.convert_sync_batchnorm``: cada ``nn.BatchNorm1d``, ``2d``, ``3d``
    o ``SyncBatchNorm`` se sustituye por una capa nueva con sus mismos parámetros, búferes,
    hiperparámetros y modo (se copian sus valores y los parámetros conservan
    ``requires_grad``). Si ``model`` es él mismo una BN, se devuelve la capa nueva. Lanza
    ``ValueError`` si el modelo no tiene ninguna.
    """
    model = check_model(model)
    replaced = [0]
    out = _convert(model, process_group, replaced)
    if replaced[0] == 0:
        raise ValueError(
            "«model» no tiene ninguna capa de normalización por lotes (nn.BatchNorm1d, "
            "nn.BatchNorm2d, nn.BatchNorm3d o nn.SyncBatchNorm) que convertir."
        )
    return out


def _convert(module: nn.Module, process_group: Any, replaced: list[int]) -> nn.Module:
    if isinstance(module, _BatchNorm) and not isinstance(
        module, CrossReplicaBatchNorm | nn.modules.batchnorm._LazyNormBase
    ):
        new: Any = CrossReplicaBatchNorm(
            module.num_features,
            module.eps,
            module.momentum,
            module.affine,
            module.track_running_stats,
            process_group,
        )
        param = module.weight if module.affine else module.running_mean
        if param is not None:
            new = new.to(device=param.device, dtype=param.dtype)
        with torch.no_grad():
            if module.affine:
                new.weight.copy_(module.weight)
                new.bias.copy_(module.bias)
                new.weight.requires_grad_(module.weight.requires_grad)
                new.bias.requires_grad_(module.bias.requires_grad)
            if module.track_running_stats:
                new.running_mean.copy_(module.running_mean)
                new.running_var.copy_(module.running_var)
                new.num_batches_tracked.copy_(module.num_batches_tracked)
        new.training = module.training
        if hasattr(module, "qconfig"):
            new.qconfig = module.qconfig
        replaced[0] += 1
        return new
    for name, child in module.named_children():
        converted = _convert(child, process_group, replaced)
        if converted is not child:
            setattr(module, name, converted)
    return module


def cross_replica_check(
    x: torch.Tensor,
    grad_output: torch.Tensor,
    sizes: Sequence[int],
    *,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    momentum: float = 0.1,
    steps: int = 2,
    device: str | None = None,
) -> dict[str, dict[str, torch.Tensor]]:
    """Para :func:`launch`: cada rango toma su trozo de ``x`` y lo pasa por dos capas.

    El rango ``r`` toma las filas de ``x`` que le asignan ``sizes`` (``sizes[r]`` filas,
    consecutivas; pueden ser distintos) y las pasa ``steps`` veces, en modo de entrenamiento,
    por una :class:`CrossReplicaBatchNorm` y por una ``nn.BatchNorm*d`` por réplica, ambas con
    ``weight`` y ``bias`` como :math:`\\gamma` y :math:`\\beta`. La pérdida es
    :math:`\\sum y \\cdot g` con ``g`` el trozo de ``grad_output``. Devuelve, para cada capa,
    la salida, el gradiente de la entrada y los de :math:`\\gamma` y :math:`\\beta` (los del
    último paso; los de los parámetros, **sumados** entre procesos con una reducción global, el
    gradiente de la pérdida total) y los búferes finales, todo en la CPU.

    Cada rango calcula en ``device`` (``None``: la GPU ``rank`` con NCCL, donde la capa delega en
    ``nn.SyncBatchNorm``, y la CPU con gloo).
    """
    rank, world = _require_group("cross_replica_check")
    dev = _worker_device(device, rank)
    sizes = [check_int(s, "sizes", minimum=0) for s in sizes]
    if len(sizes) != world or sum(sizes) != len(x):
        raise ValueError(
            f"«sizes» debe tener un tamaño por proceso ({world}) que sumen {len(x)}; se recibió "
            f"{sizes}."
        )
    start = sum(sizes[:rank])
    part = slice(start, start + sizes[rank])
    channels = x.shape[1]
    plain_cls = nn.BatchNorm1d if x.ndim in (2, 3) else nn.BatchNorm2d
    result = {}
    layers: list[tuple[str, Any]] = [
        ("cross", CrossReplicaBatchNorm(channels, momentum=momentum)),
        ("plain", plain_cls(channels, momentum=momentum)),
    ]
    x_part, g_part = x[part].to(dev), grad_output[part].to(dev)
    for name, layer in layers:
        layer = layer.to(device=dev, dtype=x.dtype)
        with torch.no_grad():
            if weight is not None:
                layer.weight.copy_(weight)
            if bias is not None:
                layer.bias.copy_(bias)
        layer.train()
        for _ in range(steps):
            inp: Any = x_part.clone().requires_grad_(True)
            layer.zero_grad(set_to_none=True)
            out = layer(inp)
            (out * g_part).sum().backward()
        grads = torch.cat([layer.weight.grad, layer.bias.grad])
        dist.all_reduce(grads)
        result[name] = {
            "output": out.detach().cpu(),
            "grad_input": inp.grad.detach().cpu(),
            "grad_weight": grads[:channels].cpu(),
            "grad_bias": grads[channels:].cpu(),
            "running_mean": layer.running_mean.cpu(),
            "running_var": layer.running_var.cpu(),
            "num_batches_tracked": layer.num_batches_tracked.cpu(),
        }
    return result


def ddp_gradients(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    cross_replica: bool = False,
    device: str | None = None,
) -> dict[str, torch.Tensor]:
    """Para :func:`launch`: gradientes de un paso de DDP con el minilote global ``(x, y)``.

    El rango ``r`` toma el ``r``-ésimo trozo consecutivo (de ``len(x) / world_size`` ejemplos),
    envuelve ``model`` en ``DistributedDataParallel`` (con sus BN convertidas por
    :func:`convert_model` si ``cross_replica``) y hace una propagación y una retropropagación con
    la entropía cruzada media de su trozo. Devuelve los gradientes de los parámetros que deja
    DDP (ya promediados entre procesos), por nombre, en la CPU. ``device`` es el de
    :func:`cross_replica_check`.
    """
    rank, world = _require_group("ddp_gradients")
    if len(x) % world:
        raise ValueError(f"El minilote ({len(x)}) debe ser múltiplo del número de procesos ({world}).")
    dev = _worker_device(device, rank)
    b = len(x) // world
    if cross_replica:
        model = convert_model(model)
    model = check_model(model).to(dev)
    ddp = nn.parallel.DistributedDataParallel(
        model, device_ids=[dev.index] if dev.type == "cuda" else None
    )
    ddp.train()
    xb, yb = x[rank * b : (rank + 1) * b].to(dev), y[rank * b : (rank + 1) * b].to(dev)
    loss = F.cross_entropy(ddp(xb), yb)
    loss.backward()
    return {
        n: p.grad.detach().cpu().clone()
        for n, p in ddp.module.named_parameters()
        if p.grad is not None
    }


# ---------------------------------------------------------------------------------------------
# Entrenamiento con DDP y su equivalente en un proceso
# ---------------------------------------------------------------------------------------------


@dataclass
class DistributedRun:
    """Lo que devuelve :func:`ddp_train` en cada rango.

    Atributos
    ---------
    rank, world_size:
        Rango del proceso y número de procesos.
    history:
        El :class:`~bncourse.History` del entrenamiento: pérdida y exactitud de entrenamiento
        del minilote global (promediadas entre procesos) y de prueba con el modelo **de este
        rango** (sus estadísticas de población) en modo de inferencia.
    bn_stats:
        Para cada capa BN (por nombre), ``running_mean`` y ``running_var`` de este rango al
        terminar, como arreglos de NumPy.
    state_dict:
        Parámetros y búferes finales del modelo de este rango (tensores de CPU).
    steps, train_seconds:
        Pasos de entrenamiento que dio este rango y segundos de reloj que pasó en ellos (sin la
        evaluación de cada época, que ``history.seconds`` sí cuenta); ``seconds_per_step`` es
        su cociente.
    """

    rank: int
    world_size: int
    history: History
    bn_stats: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    state_dict: dict[str, torch.Tensor] = field(default_factory=dict)
    steps: int = 0
    train_seconds: float = 0.0

    @property
    def seconds_per_step(self) -> float:
        """Segundos de reloj por paso de entrenamiento (sin evaluación)."""
        if self.steps == 0:
            raise ValueError("Esta ejecución no dio ningún paso de entrenamiento.")
        return self.train_seconds / self.steps


def _bn_stats(model: nn.Module) -> dict[str, dict[str, np.ndarray]]:
    return {
        name: {
            "running_mean": m.running_mean.detach().cpu().numpy().copy(),
            "running_var": m.running_var.detach().cpu().numpy().copy(),
        }
        for name, m in model.named_modules()
        if isinstance(m, _BatchNorm) and m.running_mean is not None and m.running_var is not None
    }


def _check_common(
    epochs: int, batch_size: int, n: int, world_size: int, seed: int
) -> tuple[int, int, int]:
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    if batch_size * world_size > n:
        raise ValueError(
            f"El minilote global ({batch_size} × {world_size} procesos) es mayor que el conjunto "
            f"de entrenamiento ({n} ejemplos)."
        )
    return epochs, batch_size, seed


def _buffer_sync_option(broadcast_buffers: bool) -> dict[str, bool]:
    """``broadcast_buffers`` de DDP con el nombre que usa esta versión de PyTorch.

    Las versiones recientes lo llaman ``forward_sync_buffers`` (y avisan de que el nombre
    antiguo está obsoleto); las dos copian los búferes del rango 0 antes de cada propagación.
    """
    params = inspect.signature(nn.parallel.DistributedDataParallel.__init__).parameters
    name = "forward_sync_buffers" if "forward_sync_buffers" in params else "broadcast_buffers"
    return {name: broadcast_buffers}


def ddp_train(
    model: nn.Module,
    train: TensorDataset | tuple[torch.Tensor, torch.Tensor],
    test: TensorDataset | tuple[torch.Tensor, torch.Tensor],
    *,
    epochs: int,
    batch_size: int,
    optimizer: str = "sgd",
    lr: float = 0.05,
    momentum: float = 0.9,
    broadcast_buffers: bool = True,
    cross_replica: bool = False,
    seed: int = 0,
    label: str = "",
    device: str | None = None,
) -> DistributedRun:
    """Entrena ``model`` con ``DistributedDataParallel``; se ejecuta en cada proceso de :func:`launch`.

    Cada rango ve su trozo de ``train`` (``DistributedSampler`` con ``shuffle=True``,
    ``drop_last=True`` y la semilla ``seed``; una permutación nueva por época) en minilotes de
    ``batch_size`` ejemplos **por proceso**: el minilote global es ``batch_size × world_size``.
    DDP promedia los gradientes entre procesos; con BN normal cada réplica normaliza con las
    estadísticas de su trozo y con ``cross_replica=True`` (:func:`convert_model`) con las del
    minilote global. ``broadcast_buffers`` pasa a DDP: con ``True`` copia los búferes de BN del
    rango 0 a todos al principio de cada propagación. Tras cada época se evalúa el modelo de
    este rango en modo de inferencia sobre todo ``test``.

    ``device`` ``None`` usa la GPU ``rank`` si el *backend* es NCCL y la CPU si es gloo. Se
    entrena una copia de ``model`` (el recibido no cambia: varias llamadas de :func:`call_all`
    pueden partir del mismo modelo). Devuelve una :class:`DistributedRun`, con los pesos
    entrenados en ``state_dict``.
    """
    rank, world = _require_group("ddp_train")
    model = copy.deepcopy(check_model(model))  # no toca el modelo recibido (véase call_all)
    x_train, y_train = as_tensors(train, "train")
    test = as_tensors(test, "test")
    epochs, batch_size, seed = _check_common(epochs, batch_size, len(x_train), world, seed)
    broadcast_buffers = check_bool(broadcast_buffers, "broadcast_buffers")
    cross_replica = check_bool(cross_replica, "cross_replica")
    dev = _worker_device(device, rank)
    if cross_replica:
        model = convert_model(model)
    model.to(dev)
    options: dict[str, Any] = _buffer_sync_option(broadcast_buffers)
    ddp = nn.parallel.DistributedDataParallel(
        model, device_ids=[dev.index] if dev.type == "cuda" else None, **options
    )
    opt = make_optimizer(model, optimizer, lr=lr, momentum=momentum)
    dataset = TensorDataset(x_train, y_train)
    sampler: DistributedSampler[Any] = DistributedSampler(
        dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True
    )
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=True)
    history = History(label=label)
    elapsed = train_seconds = 0.0
    steps = 0
    for epoch in range(epochs):
        start = time.perf_counter()
        sampler.set_epoch(epoch)
        ddp.train()
        totals = torch.zeros(3, dtype=torch.float64, device=dev)
        for xb, yb in loader:
            xb, yb = xb.to(dev), yb.to(dev)
            logits = ddp(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            totals[0] += loss.detach().double() * len(yb)
            totals[1] += (logits.detach().argmax(1) == yb).sum()
            totals[2] += len(yb)
            steps += 1
        dist.all_reduce(totals)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        train_seconds += time.perf_counter() - start
        test_loss, test_acc = evaluate(model, test, device=dev)
        elapsed += time.perf_counter() - start
        history.append(
            train_loss=float(totals[0] / totals[2]),
            train_accuracy=float(totals[1] / totals[2]),
            test_loss=test_loss,
            test_accuracy=test_acc,
            seconds=elapsed,
        )
    return DistributedRun(
        rank=rank,
        world_size=world,
        history=history,
        bn_stats=_bn_stats(model),
        state_dict={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        steps=steps,
        train_seconds=train_seconds,
    )


def global_batch_order(n: int, world_size: int, batch_size: int, *, seed: int, epoch: int) -> list[torch.Tensor]:
    """Los minilotes globales de una época de :func:`ddp_train`, en orden de rango.

    Devuelve, para cada paso, los índices que ven los rangos 0, 1, ..., concatenados (primero
    los ``batch_size`` del rango 0, después los del 1...): exactamente la partición de
    ``DistributedSampler(shuffle=True, drop_last=True, seed=seed)`` en la época ``epoch``.
    """
    n = check_int(n, "n", minimum=1)
    world_size = check_int(world_size, "world_size", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    shards = []
    for r in range(world_size):
        sampler: DistributedSampler[Any] = DistributedSampler(
            range(n),  # type: ignore[arg-type]
            num_replicas=world_size,
            rank=r,
            shuffle=True,
            seed=seed,
            drop_last=True,
        )
        sampler.set_epoch(epoch)
        shards.append(list(sampler))
    steps = len(shards[0]) // batch_size
    return [
        torch.tensor([i for r in range(world_size) for i in shards[r][t * batch_size : (t + 1) * batch_size]])
        for t in range(steps)
    ]


class PerDeviceBatchNorm(nn.Module):
    """La BN de cada réplica de DDP, simulada en un solo proceso: BN «fantasma» por dispositivo.

    En modo de entrenamiento divide el minilote global en ``devices`` trozos consecutivos
    iguales (el del rango 0, el del 1, ...) y normaliza cada uno con su media y su varianza,
    como haría cada réplica con ``nn.BatchNorm*d``. Las estadísticas de población se actualizan
    solo con las del primer trozo: es lo que guarda el rango 0, cuyos búferes copia DDP a los
    demás con ``broadcast_buffers=True``. En modo de inferencia es la BN envuelta. Sirve para
    entradas ``(N, C)`` y ``(N, C, H, W)``.
    """

    def __init__(self, bn: _BatchNorm, devices: int) -> None:
        super().__init__()
        if not isinstance(bn, _BatchNorm):
            raise TypeError(f"«bn» debe ser una capa BN de PyTorch; se recibió {describe(bn)}.")
        self.bn = bn
        self.devices = check_int(devices, "devices", minimum=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bn = self.bn
        if not self.training or self.devices == 1:
            return bn(x)
        n, d = x.shape[0], self.devices
        if n % d:
            raise ValueError(
                f"PerDeviceBatchNorm necesita un minilote múltiplo de {d} dispositivos; recibió {n}."
            )
        g = n // d
        rest = x.shape[2:]
        channels = x.shape[1]
        # (N, C, ...) -> (g, d·C, ...): cada canal de cada dispositivo es una columna aparte.
        cols = x.reshape(d, g, channels, *rest).transpose(0, 1).reshape(g, d * channels, *rest)
        normalized = F.batch_norm(cols, None, None, training=True, eps=bn.eps)
        out = normalized.reshape(g, d, channels, *rest).transpose(0, 1).reshape(x.shape)
        if bn.affine:
            shape = [1, channels] + [1] * len(rest)
            out = out * bn.weight.view(shape) + bn.bias.view(shape)
        if bn.track_running_stats and bn.running_mean is not None and bn.running_var is not None:
            with torch.no_grad():
                assert bn.num_batches_tracked is not None
                first = x[:g].detach()
                dims = [0, *range(2, x.ndim)]
                var, mean = torch.var_mean(first, dim=dims, unbiased=True)
                bn.num_batches_tracked.add_(1)
                m = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
                bn.running_mean.mul_(1 - m).add_(m * mean)
                bn.running_var.mul_(1 - m).add_(m * var)
        return out

    def extra_repr(self) -> str:
        return f"devices={self.devices}"


def use_per_device_batchnorm(model: nn.Module, devices: int) -> nn.Module:
    """Envuelve, en el sitio, cada ``nn.BatchNorm1d``/``2d`` de ``model`` en una :class:`PerDeviceBatchNorm`.

    Devuelve ``model``; lanza ``ValueError`` si no contiene ninguna.
    """
    model = check_model(model)
    devices = check_int(devices, "devices", minimum=1)
    replaced = 0
    for module in list(model.modules()):
        if isinstance(module, PerDeviceBatchNorm):
            continue
        for name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm1d | nn.BatchNorm2d) and not isinstance(
                module, PerDeviceBatchNorm
            ):
                setattr(module, name, PerDeviceBatchNorm(child, devices))
                replaced += 1
    if replaced == 0:
        raise ValueError("«model» no contiene ninguna capa nn.BatchNorm1d o nn.BatchNorm2d.")
    return model


def train_like_ddp(
    model: nn.Module,
    train: TensorDataset | tuple[torch.Tensor, torch.Tensor],
    test: TensorDataset | tuple[torch.Tensor, torch.Tensor],
    *,
    world_size: int,
    epochs: int,
    batch_size: int,
    optimizer: str = "sgd",
    lr: float = 0.05,
    momentum: float = 0.9,
    seed: int = 0,
    label: str = "",
) -> History:
    """Entrena en un solo proceso con los mismos minilotes globales que :func:`ddp_train`.

    Cada paso toma el minilote global de ``batch_size × world_size`` ejemplos que formarían los
    trozos de los ``world_size`` rangos (:func:`global_batch_order`, en orden de rango) y
    minimiza su entropía cruzada media, que es lo que promedia DDP. Con
    :func:`use_per_device_batchnorm` (``devices=world_size``) en ``model``, cada grupo se
    normaliza como en su réplica; con BN normal, sobre el minilote global (lo mismo que
    :class:`CrossReplicaBatchNorm`). Devuelve un :class:`~bncourse.History` por época.
    """
    model = check_model(model)
    x_train, y_train = as_tensors(train, "train")
    test = as_tensors(test, "test")
    world_size = check_int(world_size, "world_size", minimum=1)
    epochs, batch_size, seed = _check_common(epochs, batch_size, len(x_train), world_size, seed)
    opt = make_optimizer(model, optimizer, lr=lr, momentum=momentum)
    history = History(label=label)
    elapsed = 0.0
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        loss_sum, correct, count = 0.0, 0, 0
        for idx in global_batch_order(len(x_train), world_size, batch_size, seed=seed, epoch=epoch):
            xb, yb = x_train[idx], y_train[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(yb)
            correct += int((logits.detach().argmax(1) == yb).sum())
            count += len(yb)
        test_loss, test_acc = evaluate(model, test)
        elapsed += time.perf_counter() - start
        loss_mean = loss_sum / count
        history.append(
            train_loss=loss_mean if math.isfinite(loss_mean) else math.nan,
            train_accuracy=correct / count,
            test_loss=test_loss,
            test_accuracy=test_acc,
            seconds=elapsed,
        )
    return history

