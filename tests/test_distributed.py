"""Pruebas de bncourse.torch.distributed con procesos reales (gloo, 2 y 4 procesos).

Arrancar procesos cuesta segundos: cada lanzamiento hace varias comprobaciones a la vez
(:func:`bncourse.torch.distributed.call_all`). Todo en float64, con tolerancia 1e-10.
"""

from __future__ import annotations

import copy
import math
import multiprocessing
import os
import socket
import time

import psutil
import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from bncourse import History
from bncourse.torch import (
    CrossReplicaBatchNorm,
    DistributedRun,
    PerDeviceBatchNorm,
    RecipeCNN,
    WorkerError,
    WorkerTimeout,
    call_all,
    convert_model,
    cross_replica_check,
    ddp_gradients,
    ddp_train,
    find_free_port,
    global_batch_order,
    launch,
    train_like_ddp,
    use_per_device_batchnorm,
)

TOL = 1e-10
MOMENTUM = 0.1


# Funciones de los procesos: en el nivel superior de este módulo, para que se puedan enviar.
def fail_on_rank(bad_rank: int) -> int:
    rank = dist.get_rank()
    if rank == bad_rank:
        raise ZeroDivisionError(f"fallo provocado en el rango {rank}")
    dist.barrier()  # los demás esperan al que falla: el padre debe terminarlos
    return rank


def sleep_on_rank(bad_rank: int, seconds: float) -> int:
    if dist.get_rank() == bad_rank:
        time.sleep(seconds)
    return dist.get_rank()


def info() -> tuple[int, int, int]:
    return dist.get_rank(), dist.get_world_size(), torch.get_num_threads()


def _data(seed: int, shape: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=torch.float64) * 2 + 0.5
    grad = torch.randn(*shape, generator=g, dtype=torch.float64)
    channels = shape[1]
    weight = torch.rand(channels, generator=g, dtype=torch.float64) + 0.5
    bias = torch.randn(channels, generator=g, dtype=torch.float64)
    return x, grad, weight, bias


def _global_reference(x, grad, weight, bias, steps=2):
    bn = (nn.BatchNorm1d if x.ndim in (2, 3) else nn.BatchNorm2d)(x.shape[1], momentum=MOMENTUM)
    bn = bn.double()
    with torch.no_grad():
        bn.weight.copy_(weight)
        bn.bias.copy_(bias)
    for _ in range(steps):
        inp = x.clone().requires_grad_(True)
        bn.zero_grad(set_to_none=True)
        out = bn(inp)
        (out * grad).sum().backward()
    return {
        "output": out.detach(),
        "grad_input": inp.grad,
        "grad_weight": bn.weight.grad,
        "grad_bias": bn.bias.grad,
        "running_mean": bn.running_mean,
        "running_var": bn.running_var,
        "num_batches_tracked": bn.num_batches_tracked,
    }


CASES = {
    2: [("2d, trozos 3 y 7", (10, 3, 4, 4), [3, 7]), ("1d, trozos 6 y 6", (12, 5), [6, 6]),
        ("1d con longitud (N, C, L)", (9, 4, 3), [4, 5])],
    4: [("2d, trozos 1, 2, 3 y 6", (12, 3, 3, 3), [1, 2, 3, 6]),
        ("1d, trozos 2, 5, 3 y 6", (16, 4), [2, 5, 3, 6])],
}


def _cross_calls(world):
    calls, refs = [], []
    for i, (_, shape, sizes) in enumerate(CASES[world]):
        x, grad, weight, bias = _data(10 * world + i, shape)
        calls.append((cross_replica_check, (x, grad, sizes),
                      {"weight": weight, "bias": bias, "momentum": MOMENTUM}))
        refs.append(_global_reference(x, grad, weight, bias))
    return calls, refs


def _small_cnn():
    torch.manual_seed(123)
    return RecipeCNN("batch", in_channels=1, image_size=24).double()


def _bn_first_model(features=6):
    torch.manual_seed(7)
    return nn.Sequential(nn.BatchNorm1d(features, momentum=MOMENTUM), nn.Linear(features, 3)).double()


def _bn_train_data(n=48, features=6):
    g = torch.Generator().manual_seed(99)
    x = torch.randn(n, features, generator=g, dtype=torch.float64) * 3 + 1
    y = torch.randint(0, 3, (n,), generator=g)
    return (x, y), (x[:12], y[:12])


DDP_KW = {"epochs": 2, "batch_size": 4, "lr": 0.01, "seed": 5}


@pytest.fixture(scope="module")
def two():
    calls, refs = _cross_calls(2)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(8, 1, 24, 24, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (8,), generator=g)
    calls += [
        (info, (), {}),
        (ddp_gradients, (_small_cnn(), x, y), {}),
        (ddp_gradients, (_small_cnn(), x, y), {"cross_replica": True}),
    ]
    start = time.monotonic()
    results = launch(call_all, 2, args=(calls,), timeout=240)
    return {"results": results, "refs": refs, "x": x, "y": y, "seconds": time.monotonic() - start}


@pytest.fixture(scope="module")
def four():
    calls, refs = _cross_calls(4)
    train, test = _bn_train_data()
    calls += [
        (ddp_train, (_bn_first_model(), train, test), {**DDP_KW, "broadcast_buffers": True}),
        (ddp_train, (_bn_first_model(), train, test), {**DDP_KW, "broadcast_buffers": False}),
        (ddp_train, (_bn_first_model(), train, test), {**DDP_KW, "cross_replica": True}),
    ]
    results = launch(call_all, 4, args=(calls,), timeout=240)
    return {"results": results, "refs": refs, "train": train}


def _max_diff(a, b):
    return float((a - b).detach().abs().max())


@pytest.mark.parametrize("world", [2, 4])
def test_cross_replica_equals_one_batchnorm_over_the_whole_batch(two, four, world):
    data = {2: two, 4: four}[world]
    for i, (name, _, _) in enumerate(CASES[world]):
        ref = data["refs"][i]
        per_rank = [r[i] for r in data["results"]]
        cross = [r["cross"] for r in per_rank]
        for key in ("output", "grad_input"):
            joined = torch.cat([c[key] for c in cross])
            assert _max_diff(joined, ref[key]) < TOL, (name, key)
        for c in cross:  # los mismos gradientes de γ y β y los mismos búferes en cada rango
            for key in ("grad_weight", "grad_bias", "running_mean", "running_var"):
                assert _max_diff(c[key], ref[key]) < TOL, (name, key)
            assert int(c["num_batches_tracked"]) == 2
        # La BN de cada réplica, en cambio, normaliza con su trozo: la salida difiere en más de
        # 0.05 (en unidades de la salida, con γ entre 0.5 y 1.5) y los búferes no coinciden.
        plain = torch.cat([r["plain"]["output"] for r in per_rank])
        assert _max_diff(plain, ref["output"]) > 0.05, name
        assert max(_max_diff(r["plain"]["running_var"], ref["running_var"]) for r in per_rank) > 1e-3


def test_workers_get_their_rank_and_one_thread(two):
    n = len(CASES[2])
    assert [r[n] for r in two["results"]] == [(0, 2, 1), (1, 2, 1)]


def test_ddp_gradients_per_device_bn_equal_single_process_ghost_bn(two):
    n = len(CASES[2]) + 1
    x, y = two["x"], two["y"]
    per_device, cross = ([r[n + k] for r in two["results"]] for k in (0, 1))
    ghost = use_per_device_batchnorm(_small_cnn(), 2)
    F.cross_entropy(ghost(x), y).backward()
    whole = _small_cnn()
    F.cross_entropy(whole(x), y).backward()
    for name, p in ghost.named_parameters():
        key = name.replace(".bn.", ".")
        for rank in (0, 1):
            assert _max_diff(per_device[rank][key], p.grad) < TOL, key
    differ = 0.0
    for name, p in whole.named_parameters():
        for rank in (0, 1):
            assert _max_diff(cross[rank][name], p.grad) < TOL, name
        differ = max(differ, _max_diff(per_device[0][name], p.grad))
    assert differ > 1e-4  # BN por dispositivo no da el gradiente de la BN global


def _expected_buffers(train, world, broadcast):
    x, _ = train
    layers = [nn.BatchNorm1d(x.shape[1], momentum=MOMENTUM).double() for _ in range(world)]
    for epoch in range(DDP_KW["epochs"]):
        for idx in global_batch_order(len(x), world, DDP_KW["batch_size"], seed=DDP_KW["seed"],
                                      epoch=epoch):
            if broadcast:  # DDP copia los búferes del rango 0 antes de cada propagación
                for layer in layers[1:]:
                    layer.load_state_dict(layers[0].state_dict())
            shards = x[idx].reshape(world, DDP_KW["batch_size"], -1)
            for layer, shard in zip(layers, shards, strict=True):
                layer.train()(shard)
    return [(layer.running_mean, layer.running_var) for layer in layers]


@pytest.mark.parametrize("broadcast", [True, False])
def test_ddp_broadcast_buffers_decides_what_each_rank_holds(four, broadcast):
    n = len(CASES[4]) + (0 if broadcast else 1)
    runs = [r[n] for r in four["results"]]
    expected = _expected_buffers(four["train"], 4, broadcast)
    for rank, run in enumerate(runs):
        assert run.rank == rank and run.world_size == 4
        stats = run.bn_stats["0"]
        assert _max_diff(torch.from_numpy(stats["running_mean"]), expected[rank][0]) < TOL
        assert _max_diff(torch.from_numpy(stats["running_var"]), expected[rank][1]) < TOL
        assert len(run.history) == DDP_KW["epochs"]
        assert run.history.train_loss == runs[0].history.train_loss  # promediada entre rangos
        # Pasos por rango: cada época reparte el conjunto en minilotes globales de 4 × 4.
        per_epoch = len(four["train"][0]) // (DDP_KW["batch_size"] * 4)
        assert run.steps == DDP_KW["epochs"] * per_epoch
        # El tiempo de los pasos no incluye la evaluación de cada época: es menor que el total.
        assert 0 < run.train_seconds < run.history.seconds[-1]
        assert run.seconds_per_step == pytest.approx(run.train_seconds / run.steps)
        assert _max_diff(run.state_dict["1.weight"], runs[0].state_dict["1.weight"]) < TOL
    mean0 = runs[0].bn_stats["0"]["running_mean"]
    gap = max(float(abs(r.bn_stats["0"]["running_mean"] - mean0).max()) for r in runs[1:])
    assert gap > 1e-3  # en los dos casos, los rangos terminan con búferes distintos...
    if broadcast:
        # ... pero con broadcast_buffers=True solo por la última actualización (un 10 %):
        # la distancia es menor que sin copiar los búferes.
        no_copy = [r[n + 1] for r in four["results"]]
        gap_no_copy = max(
            float(abs(r.bn_stats["0"]["running_mean"] - mean0).max()) for r in no_copy[1:]
        )
        assert gap < gap_no_copy


def test_ddp_with_cross_replica_bn_trains_like_one_process_over_the_global_batch(four):
    n = len(CASES[4]) + 2
    runs = [r[n] for r in four["results"]]
    train, test = _bn_train_data()
    single = _bn_first_model()
    history = train_like_ddp(single, train, test, world_size=4, **DDP_KW)
    expected = single.state_dict()
    for run in runs:  # pesos y búferes: los de un solo proceso con el minilote global
        for key, value in expected.items():
            assert _max_diff(run.state_dict[key].double(), value.double()) < TOL, key
        assert run.history.test_accuracy == history.test_accuracy
    assert math.isclose(runs[0].history.train_loss[-1], history.train_loss[-1], rel_tol=1e-9)


def test_seconds_per_step_without_steps_is_an_error():
    run = DistributedRun(rank=0, world_size=1, history=History())
    with pytest.raises(ValueError, match="ningún paso"):
        _ = run.seconds_per_step


def _assert_no_survivors(pids):
    for pid in pids:
        if psutil.pid_exists(pid):
            assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid
    assert multiprocessing.active_children() == []


def test_a_failing_worker_raises_in_the_parent_with_its_rank():
    start = time.monotonic()
    with pytest.raises(WorkerError, match="rango 1 falló: ZeroDivisionError") as info:
        launch(fail_on_rank, 2, args=(1,), timeout=120)
    assert time.monotonic() - start < 120
    assert info.value.rank == 1
    assert "fallo provocado en el rango 1" in info.value.remote_traceback
    assert "fail_on_rank" in info.value.remote_traceback  # la traza del proceso hijo
    _assert_no_survivors(info.value.pids)


def test_a_hanging_worker_is_stopped_at_the_timeout():
    start = time.monotonic()
    with pytest.raises(WorkerTimeout, match="no terminaron en 25 s") as info:
        launch(sleep_on_rank, 2, args=(0, 600.0), timeout=25)
    assert time.monotonic() - start < 25 + 20
    assert 0 in info.value.pending
    _assert_no_survivors(info.value.pids)


def local_function():
    return 1


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"world_size": 0}, ValueError, "«world_size» debe ser mayor o igual que 1"),
    ({"world_size": 2.0}, TypeError, "«world_size» debe ser un número entero"),
    ({"world_size": True}, TypeError, "«world_size» debe ser un número entero"),
    ({"timeout": 0}, ValueError, "«timeout» debe ser mayor que 0"),
    ({"timeout": -5}, ValueError, "«timeout» debe ser mayor que 0"),
    ({"timeout": True}, TypeError, "«timeout» debe ser un número real"),
    ({"timeout": "10"}, TypeError, "«timeout» debe ser un número real"),
    ({"timeout": math.nan}, ValueError, "«timeout» debe ser un número finito"),
    ({"threads": 0}, ValueError, "«threads» debe ser mayor o igual que 1"),
    ({"backend": "mpi"}, ValueError, "«backend» debe ser una de estas opciones"),
    ({"port": 0}, ValueError, "«port» debe ser mayor o igual que 1"),
    ({"args": 3}, TypeError, "«args» debe ser una tupla o una lista"),
    ({"args": (lambda: 1,)}, TypeError, "no se pueden serializar con pickle"),
])
def test_launch_rejects_bad_arguments(kwargs, error, message):
    call = {"world_size": 2, **kwargs}
    with pytest.raises(error, match=message):
        launch(info, **call)
    assert multiprocessing.active_children() == []


def test_launch_rejects_functions_that_cannot_reach_the_workers():
    def inner():
        return 1

    for fn, message in [(lambda: 1, "no se puede enviar"), (inner, "no se puede enviar"),
                        (3, "«fn» debe ser una función")]:
        with pytest.raises(TypeError, match=message):
            launch(fn, 2)
    fake = copy.copy(local_function)
    fake.__module__ = "__main__"
    import __main__

    if not getattr(__main__, "__file__", None):
        with pytest.raises(TypeError, match="cuaderno"):
            launch(fake, 2)


def test_launch_rejects_a_port_in_use():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(OSError, match=f"El puerto {port} de 127.0.0.1 ya está en uso"):
            launch(info, 2, port=port)
    assert 1 <= find_free_port() <= 65535


def test_convert_model_copies_everything_and_rejects_a_model_without_bn():
    model = RecipeCNN("batch", in_channels=1, image_size=24)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                m.running_mean.uniform_()
                m.running_var.uniform_(1, 2)
                m.weight.uniform_()
            m.num_batches_tracked.fill_(7)
    model.features[1].eval()
    before = copy.deepcopy(model.state_dict())
    converted = convert_model(model)
    layers = [m for m in converted.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(layers) == 4 and all(type(m) is CrossReplicaBatchNorm for m in layers)
    after = converted.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not converted.features[1].training and converted.features[5].training
    single = convert_model(nn.BatchNorm1d(3))
    assert type(single) is CrossReplicaBatchNorm
    with pytest.raises(ValueError, match="no tiene ninguna capa de normalización por lotes"):
        convert_model(nn.Sequential(nn.Linear(2, 2), nn.GroupNorm(1, 2)))
    with pytest.raises(TypeError, match="«model» debe ser un torch.nn.Module"):
        convert_model("red")


@pytest.mark.parametrize("shape", [(6, 4), (6, 4, 5), (6, 4, 3, 3)])
@pytest.mark.parametrize("options", [{}, {"affine": False}, {"track_running_stats": False},
                                     {"momentum": None}])
def test_without_a_process_group_it_is_batchnorm(shape, options):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(*shape, generator=g, dtype=torch.float64)
    ref = (nn.BatchNorm1d if len(shape) < 4 else nn.BatchNorm2d)(4, **options).double()
    layer = CrossReplicaBatchNorm(4, **options).double()
    for mode in ("train", "train", "eval"):
        getattr(ref, mode)()
        getattr(layer, mode)()
        assert torch.equal(layer(x), ref(x))
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(),
                                                   layer.state_dict().values(), strict=True))
    with pytest.raises(ValueError, match="de 2 a 5 dimensiones"):
        layer(torch.randn(4))


def test_with_a_group_of_one_process_it_is_batchnorm():
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{find_free_port()}", rank=0,
                            world_size=1)
    try:
        x = torch.randn(8, 3, 2, 2, dtype=torch.float64)
        ref, layer = nn.BatchNorm2d(3).double(), CrossReplicaBatchNorm(3).double()
        assert torch.equal(layer(x), ref(x))
        assert torch.equal(layer.running_var, ref.running_var)
    finally:
        dist.destroy_process_group()


def test_functions_that_need_a_process_group_say_so():
    x = torch.zeros(4, 2)
    with pytest.raises(RuntimeError, match="grupo de procesos iniciado"):
        cross_replica_check(x, x, [4])
    with pytest.raises(RuntimeError, match="grupo de procesos iniciado"):
        ddp_train(_bn_first_model(2), (x, torch.zeros(4, dtype=torch.long)),
                  (x, torch.zeros(4, dtype=torch.long)), epochs=1, batch_size=2)
    with pytest.raises(TypeError, match="tupla \\(función, args, kwargs\\)"):
        call_all([(info, ())])


def test_per_device_batchnorm_normalises_each_shard_and_keeps_the_first_shards_stats():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(12, 3, 4, 4, generator=g, dtype=torch.float64)
    bn = nn.BatchNorm2d(3).double()
    layer = PerDeviceBatchNorm(copy.deepcopy(bn), 3)
    out = layer(x)
    shards = [copy.deepcopy(bn)(s) for s in x.split(4)]
    assert _max_diff(out, torch.cat(shards)) < TOL
    first = copy.deepcopy(bn)
    first(x[:4])
    assert _max_diff(layer.bn.running_var, first.running_var) < TOL
    with pytest.raises(ValueError, match="múltiplo de 3"):
        layer(x[:10])
    with pytest.raises(ValueError, match="ninguna capa nn.BatchNorm1d o nn.BatchNorm2d"):
        use_per_device_batchnorm(nn.Linear(2, 2), 2)


def test_global_batch_order_is_the_distributed_sampler_partition():
    from torch.utils.data.distributed import DistributedSampler

    batches = global_batch_order(50, 4, 3, seed=1, epoch=2)
    assert len(batches) == 4  # 50 → 48 índices, 12 por rango, 4 pasos de 3
    for rank in range(4):
        sampler = DistributedSampler(range(50), num_replicas=4, rank=rank, shuffle=True, seed=1,
                                     drop_last=True)
        sampler.set_epoch(2)
        mine = [i for b in batches for i in b[rank * 3 : (rank + 1) * 3].tolist()]
        assert mine == list(sampler)


def test_importing_bncourse_imports_no_framework():
    import subprocess
    import sys

    code = "import bncourse, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ}, timeout=120)
    assert out.stdout.strip() == "False"
