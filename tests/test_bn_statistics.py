"""Pruebas de la reestimación de estadísticas de BN (bncourse.torch.bn_statistics)."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from bncourse.torch import RecipeCNN
from bncourse.torch.bn_statistics import batchnorm_layers, freeze_batchnorm, recompute_bn_stats


def _loader(x, batch_size=10):
    return DataLoader(
        TensorDataset(x, torch.zeros(len(x), dtype=torch.long)), batch_size=batch_size
    )


def test_recompute_gives_the_average_of_batch_statistics():
    torch.manual_seed(0)
    x = torch.randn(40, 3) * torch.tensor([1.0, 2.0, 0.5]) + torch.tensor([3.0, -1.0, 0.0])
    model = nn.Sequential(nn.BatchNorm1d(3))
    recompute_bn_stats(model, _loader(x))
    bn = model[0]
    batches = x.view(4, 10, 3)
    assert torch.allclose(bn.running_mean, batches.mean(1).mean(0), atol=1e-6)
    assert torch.allclose(bn.running_var, batches.var(1, unbiased=True).mean(0), atol=1e-5)
    assert int(bn.num_batches_tracked) == 4
    assert bn.momentum == 0.1  # restaurado


def test_recompute_accepts_plain_tensors_and_max_batches():
    torch.manual_seed(0)
    x = torch.randn(30, 2)
    model = nn.Sequential(nn.BatchNorm1d(2))
    recompute_bn_stats(model, list(x.split(10)), max_batches=1)
    assert torch.allclose(model[0].running_mean, x[:10].mean(0), atol=1e-6)
    assert int(model[0].num_batches_tracked) == 1


def test_recompute_restores_modes_uses_eval_for_other_layers_and_keeps_weights():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4))
    model.train()
    weights = [p.detach().clone() for p in model.parameters()]
    x = torch.randn(50, 4)
    recompute_bn_stats(model, _loader(x, 50))
    assert all(m.training for m in model.modules())
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))
    with torch.no_grad():
        z = model[0](x)  # sin dropout: así lo vio la BN durante la reestimación
    assert torch.allclose(model[2].running_mean, z.mean(0), atol=1e-6)
    model.eval()
    recompute_bn_stats(model, _loader(x, 50))
    assert not any(m.training for m in model.modules())


def test_recompute_fixes_stale_statistics_of_a_cnn():
    torch.manual_seed(0)
    model = RecipeCNN("batch").eval()  # estadísticas iniciales: media 0, varianza 1
    x = torch.randn(64, 3, 32, 32) * 2 + 1
    with torch.no_grad():
        train_mode = model.train()(x)
        model.eval()
        stale = model(x)
        recompute_bn_stats(model, _loader(x, 64))
        fresh = model(x)
    # Con las estadísticas de este mismo lote, inferencia ≈ entrenamiento (salvo n/(n-1)).
    assert (fresh - train_mode).abs().max() < 0.05 * (stale - train_mode).abs().max()
    assert len(batchnorm_layers(model)) == 4


def test_recompute_errors():
    x = torch.randn(8, 3)
    with pytest.raises(ValueError, match="no tiene capas BN"):
        recompute_bn_stats(nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3)), _loader(x))
    with pytest.raises(ValueError, match="no tiene capas BN"):
        recompute_bn_stats(nn.Sequential(nn.BatchNorm1d(3, track_running_stats=False)), _loader(x))
    model = nn.Sequential(nn.BatchNorm1d(3))
    with pytest.raises(TypeError, match="«data» debe ser un DataLoader"):
        recompute_bn_stats(model, x)
    with pytest.raises(ValueError, match="ningún minilote"):
        recompute_bn_stats(model, [])
    with pytest.raises(ValueError, match="«max_batches» debe ser mayor o igual que 1"):
        recompute_bn_stats(model, _loader(x), max_batches=0)
    with pytest.raises(TypeError, match="Cada minilote"):
        recompute_bn_stats(model, [[1.0, 2.0]])
    with pytest.raises(TypeError, match="torch.nn.Module"):
        batchnorm_layers("red")


def test_freeze_batchnorm_keeps_statistics_and_parameters_through_training():
    from bncourse.torch import MLP, make_loader, make_optimizer, train_epoch

    torch.manual_seed(0)
    model = MLP(6, (8, 8), 2, norm="batch")
    assert freeze_batchnorm(model) is model
    bns = [m for _, m in batchnorm_layers(model)]
    before = [{k: v.clone() for k, v in bn.state_dict().items()} for bn in bns]
    x = torch.randn(40, 6)
    loader = make_loader(TensorDataset(x, (x[:, 0] > 0).long()), 8, shuffle=True)
    train_epoch(model, loader, make_optimizer(model, "sgd", lr=0.1))
    assert model.training and not any(bn.training for bn in bns)
    for bn, saved in zip(bns, before, strict=True):
        assert not any(p.requires_grad for p in bn.parameters())
        for key, value in bn.state_dict().items():
            assert torch.equal(value, saved[key]), key
    with pytest.raises(ValueError, match="no tiene capas BN"):
        freeze_batchnorm(nn.Linear(2, 2))
