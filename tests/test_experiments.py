"""Pruebas de los experimentos de bncourse.torch: entrenamiento por pasos (steps), sondas,
suavidad de la pérdida y ruido de las estadísticas (probes), BN ruidosa y fantasma (variants) y
MNISTRun (runs).

Las pruebas de MNISTRun sustituyen la carga de MNIST por datos sintéticos pequeños, para no
depender de los archivos reales ni tardar.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import bncourse.torch as ex
from bncourse import seed_everything
from bncourse.sweep import expand_grid, run_sweep
from bncourse.torch import MLP, runs


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _data(n=240, d=20, classes=3, seed=0):
    """Datos sintéticos separables: la clase depende de la primera coordenada."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = torch.bucketize(x[:, 0].contiguous(), torch.tensor([-0.4, 0.4]))
    return TensorDataset(x, y.long())


def _mlp(norm="none", d=20, **kw):
    seed_everything(0)
    return MLP(d, (16, 16), 3, norm=norm, **kw)


# --- train_steps -----------------------------------------------------------------------------


def test_train_steps_rows_and_learning():
    train, test = _data(), _data(seed=1)
    rows = ex.train_steps(_mlp(), train, test, steps=50, batch_size=20, lr=0.5, eval_every=20)
    assert [r["step"] for r in rows] == [0, 20, 40, 50]
    assert set(rows[0]) == {"step", "train_loss", "test_loss", "test_accuracy", "diverged"}
    assert math.isnan(rows[0]["train_loss"]) and all(not r["diverged"] for r in rows)
    assert rows[-1]["test_accuracy"] > rows[0]["test_accuracy"] + 0.3  # aprende de verdad
    assert rows[-1]["test_loss"] < rows[0]["test_loss"]


def test_train_steps_is_deterministic_and_seed_changes_batch_order():
    train, test = _data(), _data(seed=1)
    kw = dict(steps=30, batch_size=16, lr=0.3, eval_every=10)
    a = ex.train_steps(_mlp("batch"), train, test, seed=0, **kw)
    b = ex.train_steps(_mlp("batch"), train, test, seed=0, **kw)
    c = ex.train_steps(_mlp("batch"), train, test, seed=1, **kw)
    assert a == b
    assert a[-1]["test_loss"] != c[-1]["test_loss"]


def test_train_steps_optional_columns():
    train, test = _data(), _data(seed=1)
    model = _mlp(activation="sigmoid")
    probe = ex.UnitProbe(ex.activation_module(model, -1), unit=3)
    rows = ex.train_steps(
        model,
        train,
        (test.tensors[0], test.tensors[1]),
        steps=20,
        batch_size=20,
        eval_every=10,
        train_metrics=True,
        probe=probe,
        measure=lambda m: {"weight_norm": float(m.output.weight.detach().norm())},
    )
    for key in ("train_accuracy", "train_eval_loss", "p15", "p50", "p85", "weight_norm"):
        assert key in rows[0] and key in rows[-1]
    assert "train_p50" not in rows[0] and "train_p50" in rows[-1]
    assert rows[-1]["p15"] <= rows[-1]["p50"] <= rows[-1]["p85"]
    assert not model.hidden[-1][2]._forward_pre_hooks  # la sonda no queda colgada


def test_train_steps_stops_when_the_loss_diverges():
    train, test = _data(), _data(seed=1)
    model = _mlp(init_std=3.0)
    rows = ex.train_steps(model, train, test, steps=200, batch_size=20, lr=1e6, eval_every=50)
    assert rows[-1]["diverged"] is True
    assert rows[-1]["step"] < 200 and math.isnan(rows[-1]["train_loss"])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "red"}, TypeError, "«model» debe ser un torch.nn.Module"),
        ({"train": [1, 2, 3]}, TypeError, "exactamente dos tensores"),
        ({"train": "datos"}, TypeError, "TensorDataset o una tupla"),
        ({"test": (torch.zeros(3, 20), torch.zeros(2).long())}, ValueError, "tantas etiquetas"),
        ({"test": (torch.zeros(3, 20), torch.zeros(3))}, TypeError, "deben ser enteras"),
        ({"steps": 0}, ValueError, "«steps» debe ser mayor o igual que 1"),
        ({"batch_size": 1000}, ValueError, "«batch_size» debe ser menor o igual que 240"),
        ({"optimizer": "rmsprop"}, ValueError, "«optimizer» debe ser una de"),
        ({"probe": "sonda"}, TypeError, "«probe» debe ser una UnitProbe"),
        ({"measure": 3}, TypeError, "«measure» debe ser una función"),
        ({"measure": lambda m: 3.0}, TypeError, "debe devolver un diccionario"),
        ({"lr": -1.0}, ValueError, "«lr» debe ser mayor que 0"),
    ],
)
def test_train_steps_rejects_bad_arguments(kwargs, error, match):
    args = {"model": _mlp(), "train": _data(), "test": _data(seed=1), "steps": 5}
    args.update(kwargs)
    model, train, test = args.pop("model"), args.pop("train"), args.pop("test")
    with pytest.raises(error, match=match):
        ex.train_steps(model, train, test, **args)


# --- sondas y evaluación ---------------------------------------------------------------------


def test_unit_probe_records_the_input_column_and_removes_its_hook():
    module = nn.Sigmoid()
    probe = ex.UnitProbe(module, unit=1)
    x = torch.arange(30.0).reshape(10, 3)
    with probe:
        module(x[:6])
        module(x[6:])
    module(x)  # fuera del bloque no se registra nada
    assert torch.equal(probe.values, x[:, 1])
    pct = probe.percentiles((15, 50, 85))
    assert pct == pytest.approx(
        {f"p{q}": float(torch.quantile(x[:, 1].double(), q / 100)) for q in (15, 50, 85)}
    )
    assert not module._forward_pre_hooks


def test_unit_probe_errors():
    with pytest.raises(TypeError, match="«module» debe ser un torch.nn.Module"):
        ex.UnitProbe("sigmoide")
    with pytest.raises(ValueError, match="«unit» debe ser mayor o igual que 0"):
        ex.UnitProbe(nn.ReLU(), unit=-1)
    with pytest.raises(ValueError, match="no ha recogido ningún valor"):
        ex.UnitProbe(nn.ReLU()).percentiles()
    probe = ex.UnitProbe(nn.ReLU(), unit=5)
    with pytest.raises(ValueError, match="D > 5"), probe:
        probe.module(torch.zeros(4, 3))


def test_activation_module_and_evaluate_on_tensors():
    model = _mlp("batch", activation="tanh")
    assert ex.activation_module(model, -1) is model.hidden[-1][2]
    assert isinstance(ex.activation_module(model, 0), nn.Tanh)
    with pytest.raises(TypeError, match="bncourse.torch.MLP"):
        ex.activation_module(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="«layer»"):
        ex.activation_module(model, 5)
    data = _data(n=50)
    model.train()
    loss, acc = ex.evaluate(model, data, chunk=7)
    assert model.training  # vuelve al modo que tenía
    model.eval()
    with torch.no_grad():
        logits = model(data.tensors[0])
    assert loss == pytest.approx(
        float(nn.functional.cross_entropy(logits, data.tensors[1])), rel=1e-5
    )
    assert acc == pytest.approx(float((logits.argmax(1) == data.tensors[1]).float().mean()))


# --- suavidad de la pérdida ------------------------------------------------------------------


def test_gradient_landscape_matches_a_manual_computation_and_restores_the_model():
    model = _mlp("batch")
    x, y = _data(n=32).tensors
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = ex.gradient_landscape(model, x, y, [0.1, 0.5])
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in model.parameters())

    # Cálculo a mano con una copia, en modo de entrenamiento.
    copy = _mlp("batch")
    copy.load_state_dict(before)
    copy.train()

    def loss_grad(m):
        m.zero_grad()
        loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        return float(loss.detach()), torch.cat([p.grad.reshape(-1) for p in m.parameters()])

    loss0, g = loss_grad(copy)
    base = [p.detach().clone() for p in copy.parameters()]
    grads = [p.grad.detach().clone() for p in copy.parameters()]
    losses, changes = [loss0], []
    for eta in (0.1, 0.5):
        with torch.no_grad():
            for p, p0, gp in zip(copy.parameters(), base, grads, strict=True):
                p.copy_(p0 - eta * gp)
        loss, g_eta = loss_grad(copy)
        losses.append(loss)
        changes.append(float((g_eta - g).norm()))
    assert out["loss_min"] == pytest.approx(min(losses), rel=1e-5)
    assert out["loss_max"] == pytest.approx(max(losses), rel=1e-5)
    assert out["loss_range"] == pytest.approx(max(losses) - min(losses), rel=1e-4, abs=1e-6)
    assert out["grad_change_max"] == pytest.approx(max(changes), rel=1e-4)
    assert out["grad_change_min"] == pytest.approx(min(changes), rel=1e-4)
    assert out["grad_norm"] == pytest.approx(float(g.norm()), rel=1e-5)
    expected_beta = max(
        c / (eta * float(g.norm())) for c, eta in zip(changes, (0.1, 0.5), strict=True)
    )
    assert out["beta"] == pytest.approx(expected_beta, rel=1e-4)


def test_gradient_landscape_is_repeatable_with_dropout_and_rejects_bad_steps():
    model = _mlp(dropout=0.5)
    x, y = _data(n=32).tensors
    assert ex.gradient_landscape(model, x, y, [0.2]) == ex.gradient_landscape(model, x, y, [0.2])
    with pytest.raises(TypeError, match="«step_sizes» debe ser una lista no vacía"):
        ex.gradient_landscape(model, x, y, [])
    with pytest.raises(ValueError, match="«step_sizes» debe ser mayor que 0"):
        ex.gradient_landscape(model, x, y, [0.1, -0.1])


# --- BN ruidosa y fantasma -------------------------------------------------------------------


def test_noisy_batchnorm_adds_a_per_step_shift_only_in_training():
    torch.manual_seed(0)
    layer = ex.NoisyBatchNorm1d(8, mean_range=2.0, scale_max=3.0, noise_std=0.0)
    x = torch.randn(500, 8) * 4 + 7
    layer.eval()
    # En inferencia, sin sorteo: la transformación esperada, E[s] = (1 + 3)/2 = 2 y E[μ] = 0.
    assert layer.expected_scale == 2.0
    assert torch.equal(layer(x), layer(x))
    assert torch.allclose(layer(x), 2.0 * layer.bn(x))
    layer.train()
    out = layer(x)
    # Sin ruido por ejemplo, cada unidad es s·x̂ + μ: media μ ∈ [-2, 2] y desviación s ∈ [1, 3].
    assert (out.mean(0).abs() <= 2.0 + 1e-4).all()
    std = out.std(0, unbiased=False)
    assert ((std >= 1 - 1e-3) & (std <= 3 + 1e-3)).all()
    assert out.mean(0).abs().max() > 0.2  # la media realmente se desplaza
    again = layer(x)
    assert not torch.allclose(out, again)  # cambia en cada paso


def test_noisy_batchnorm_inference_is_the_training_output_on_average():
    # La media de muchas pasadas de entrenamiento es E[s]·x̂ + E[μ] = E[s]·x̂: lo que devuelve
    # la capa en inferencia cuando sus estadísticas de población son las del minilote.
    torch.manual_seed(0)
    layer = ex.NoisyBatchNorm1d(6, mean_range=1.0, scale_max=2.0, noise_std=0.5)
    x = torch.randn(400, 6) * 3 - 2
    with torch.no_grad():
        normalized = layer.bn(x)  # modo de entrenamiento: estadísticas del minilote
        average = torch.stack([layer(x) for _ in range(2000)]).mean(0)
        assert (average - 1.5 * normalized).abs().max() < 0.15
        assert (average - normalized).abs().max() > 0.5  # sin la escala, no coincidiría
        layer.bn.running_mean.copy_(x.mean(0))
        layer.bn.running_var.copy_(x.var(0, unbiased=False))
        layer.eval()
        assert torch.allclose(layer(x), 1.5 * normalized, atol=1e-4)


def test_add_batchnorm_noise_and_ghost_batches_replace_every_batchnorm():
    model = _mlp("batch")
    ex.add_batchnorm_noise(model, mean_range=0.5)
    layers = [m for m in model.modules() if isinstance(m, ex.NoisyBatchNorm1d)]
    assert len(layers) == 2 and all(m.mean_range == 0.5 for m in layers)
    assert "mean_range=0.5" in repr(model)
    ghost = ex.use_ghost_batches(_mlp("batch"), 4)
    assert sum(isinstance(m, ex.GhostBatchNorm1d) for m in ghost.modules()) == 2
    with pytest.raises(ValueError, match="ninguna capa nn.BatchNorm1d"):
        ex.add_batchnorm_noise(_mlp("none"))
    with pytest.raises(ValueError, match="ninguna capa nn.BatchNorm1d"):
        ex.use_ghost_batches(_mlp("layer"), 4)
    with pytest.raises(TypeError, match="Parámetros de ruido desconocidos"):
        ex.add_batchnorm_noise(_mlp("batch"), media=1.0)
    with pytest.raises(ValueError, match="«scale_max» debe ser mayor o igual que 1"):
        ex.add_batchnorm_noise(_mlp("batch"), scale_max=0.5)
    with pytest.raises(TypeError, match="«bn» debe ser un nn.BatchNorm1d"):
        ex.NoisyBatchNorm1d(True)


def test_ghost_batchnorm_normalizes_each_group_like_a_separate_batch():
    torch.manual_seed(0)
    x = torch.randn(12, 5) * 3 + 1
    bn = nn.BatchNorm1d(5)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.uniform_(-1.0, 1.0)
    ref = nn.BatchNorm1d(5)
    ref.load_state_dict(bn.state_dict())
    ghost = ex.GhostBatchNorm1d(bn, 4)
    out = ghost(x)
    expected = torch.cat([ref(chunk) for chunk in x.split(4)])
    torch.testing.assert_close(out, expected)
    # Estadísticas de población: un paso con la media de las de los grupos.
    groups = x.reshape(3, 4, 5)
    torch.testing.assert_close(bn.running_mean, 0.1 * groups.mean(1).mean(0))
    torch.testing.assert_close(bn.running_var, 0.9 + 0.1 * groups.var(1, unbiased=True).mean(0))
    assert int(bn.num_batches_tracked) == 1
    # Gradientes: los mismos que normalizar cada grupo por separado.
    xg = x.clone().requires_grad_(True)
    ghost(xg).square().sum().backward()
    xr = x.clone().requires_grad_(True)
    torch.cat(
        [nn.functional.batch_norm(c, None, None, ref.weight, ref.bias, True) for c in xr.split(4)]
    ).square().sum().backward()
    torch.testing.assert_close(xg.grad, xr.grad)
    # Grupo del tamaño del minilote y modo de inferencia: la BN de siempre.
    ghost.eval()
    torch.testing.assert_close(ghost(x), bn(x))
    with pytest.raises(ValueError, match="múltiplo de 4"):
        ghost.train()(torch.randn(10, 5))
    with pytest.raises(ValueError, match="«group_size» debe ser mayor o igual que 2"):
        ex.GhostBatchNorm1d(nn.BatchNorm1d(5), 1)


def test_batch_statistics_noise_shrinks_like_one_over_sqrt_batch():
    values = torch.randn(2000, generator=torch.Generator().manual_seed(0))
    small = ex.batch_statistics_noise(values, 4, draws=300)
    large = ex.batch_statistics_noise(values, 64, draws=300)
    assert 3.0 < small / large < 5.5  # √(64/4) = 4
    assert ex.batch_statistics_noise(values, 16, seed=3) == ex.batch_statistics_noise(
        values, 16, seed=3
    )
    with pytest.raises(TypeError, match="tensor 1D"):
        ex.batch_statistics_noise(values.reshape(2, -1), 4)
    with pytest.raises(ValueError, match="«batch_size» debe ser mayor o igual que 2"):
        ex.batch_statistics_noise(values, 1)


# --- MNISTRun --------------------------------------------------------------------------------


@pytest.fixture
def fake_mnist(monkeypatch):
    calls = []

    def fake(train_size, test_size, *, seed, data_dir):
        calls.append((train_size, test_size, seed))
        g = torch.Generator().manual_seed(seed)
        train_x = torch.rand(train_size or 300, 784, generator=g)
        test_x = torch.rand(test_size or 100, 784, generator=g)
        label = lambda x: (x[:, :392].mean(1) > x[:, 392:].mean(1)).long()  # noqa: E731
        return TensorDataset(train_x, label(train_x)), TensorDataset(test_x, label(test_x))

    monkeypatch.setattr(runs, "mnist_tensors", fake)
    return calls


def test_mnist_run_builds_trains_and_is_deterministic(fake_mnist):
    run = ex.MNISTRun(train_size=300, test_size=100, steps=20, eval_every=10, hidden=(16,))
    assert fake_mnist == [(300, 100, 0)]
    a = run(norm="batch", lr=0.2, seed=1)
    b = run(norm="batch", lr=0.2, seed=1)
    assert a == b and [r["step"] for r in a] == [0, 10, 20]
    assert a != run(norm="batch", lr=0.2, seed=2)
    model = run.build({**run.defaults, "norm": "batch"})
    assert model.hidden[0][0].bias is None  # con BN, la capa lineal no lleva sesgo
    assert run.build(run.defaults).hidden[0][0].bias is not None


def test_mnist_run_options(fake_mnist):
    run = ex.MNISTRun(train_size=300, test_size=100, steps=10, eval_every=10, hidden=(16, 16))
    rows = run(norm="batch", noisy={"mean_range": 1.0}, probe_unit=2, activation="sigmoid")
    assert {"p15", "p50", "p85", "train_p50"} <= set(rows[-1])
    rows = run(norm="batch", ghost=5, batch_size=20, train_metrics=True)
    assert "train_accuracy" in rows[-1]
    rows = run(landscape=[0.05, 0.1])
    assert {"loss_range", "grad_change_max", "beta"} <= set(rows[0])


def test_mnist_run_rejects_bad_configurations(fake_mnist):
    with pytest.raises(ValueError, match="«norm» debe ser una de"):
        ex.MNISTRun(norm="instance")
    run = ex.MNISTRun(train_size=300, test_size=100, steps=5, hidden=(16,))
    with pytest.raises(ValueError, match="«noisy» solo tiene sentido con norm='batch'"):
        run(noisy={"mean_range": 1.0})
    with pytest.raises(TypeError, match="«noisy» debe ser None o un diccionario"):
        run(norm="batch", noisy=0.5)
    with pytest.raises(ValueError, match="«ghost» solo tiene sentido"):
        run(ghost=4)
    with pytest.raises(ValueError, match="«probe_unit» debe ser menor o igual que 15"):
        run(probe_unit=16)
    with pytest.raises(TypeError, match="«landscape» debe ser None o una lista"):
        run(landscape=0.1)
    with pytest.raises(ValueError, match="«batch_size» debe ser menor o igual que 300"):
        run(batch_size=301)
    with pytest.raises(ValueError, match=r"no acepta: \['learning_rate'\]"):
        run_sweep(expand_grid(learning_rate=[0.1]), run)


def test_mnist_run_in_a_sweep_gives_a_tidy_table(fake_mnist):
    run = ex.MNISTRun(train_size=300, test_size=100, steps=10, eval_every=5, hidden=(16,))
    table = run_sweep(expand_grid(norm=["none", "batch"], lr=[0.05, 0.5]), run, verbose=False)
    assert len(table) == 4 * 3
    assert list(table.columns[:4]) == ["run", "norm", "lr", "step"]
    assert {"test_accuracy", "test_loss", "train_loss", "diverged"} <= set(table.columns)


# --- errores discretos (issue 15 §3) ---------------------------------------------------------


def test_ghost_batchnorm_with_momentum_none_keeps_a_cumulative_average():
    """Con ``momentum=None`` PyTorch promedia todos los minilotes por igual; la fantasma también."""
    g = torch.Generator().manual_seed(0)
    batches = [torch.randn(12, 5, generator=g) * (k + 1) + k for k in range(4)]
    ghost = ex.GhostBatchNorm1d(nn.BatchNorm1d(5, momentum=None), 4)
    for x in batches:
        ghost(x)
    group_means = [x.reshape(3, 4, 5).mean(1).mean(0) for x in batches]
    group_vars = [x.reshape(3, 4, 5).var(1, unbiased=True).mean(0) for x in batches]
    torch.testing.assert_close(ghost.bn.running_mean, torch.stack(group_means).mean(0))
    torch.testing.assert_close(ghost.bn.running_var, torch.stack(group_vars).mean(0))
    assert int(ghost.bn.num_batches_tracked) == 4
    # Con grupos del tamaño del minilote, exactamente la BN de PyTorch con momentum=None.
    ref, whole = (
        nn.BatchNorm1d(5, momentum=None),
        ex.GhostBatchNorm1d(nn.BatchNorm1d(5, momentum=None), 12),
    )
    for x in batches:
        ref(x)
        whole(x)
    torch.testing.assert_close(whole.bn.running_mean, ref.running_mean)
    torch.testing.assert_close(whole.bn.running_var, ref.running_var)


def test_mnist_run_builds_each_model_once(fake_mnist, monkeypatch):
    built = []
    real_mlp = runs.MLP

    def counting_mlp(*args, **kwargs):
        built.append(kwargs.get("norm"))
        return real_mlp(*args, **kwargs)

    run = ex.MNISTRun(train_size=300, test_size=100, steps=5, eval_every=5, hidden=(16,))
    monkeypatch.setattr(runs, "MLP", counting_mlp)
    rows = run(norm="batch", seed=3)
    assert built == ["batch"]
    # La red es la de la semilla pedida: otra ejecución igual da las mismas filas.
    monkeypatch.setattr(runs, "MLP", real_mlp)
    assert rows == run(norm="batch", seed=3)


def test_train_steps_and_landscape_respect_frozen_batchnorm():
    train, test = _data(), _data(seed=1)
    model = _mlp("batch")
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm1d))
    bn.eval()
    before = bn.running_mean.clone()
    x, y = train.tensors
    measure = lambda m: ex.gradient_landscape(m, x[:20], y[:20], [0.1])  # noqa: E731
    ex.train_steps(model, train, test, steps=6, batch_size=20, eval_every=3, measure=measure)
    assert model.training and not bn.training
    assert torch.equal(bn.running_mean, before)


def test_old_module_names_still_import_the_same_objects():
    """Los cuadernos y el código de los lectores usan bncourse.torch.experiments y bn_utils."""
    from bncourse.torch import bn_utils, experiments

    for name in experiments.__all__:
        expected = ex.evaluate if name == "evaluate_tensors" else getattr(ex, name)
        assert getattr(experiments, name) is expected, name
    for name in bn_utils.__all__:
        assert getattr(bn_utils, name) is getattr(ex, name), name
