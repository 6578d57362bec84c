"""Pruebas de bncourse.torch.ics (desplazamiento de Santurkar et al.) y bncourse.torch.placement."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from bncourse.torch import MLP, gradient_ics, keep_batchnorm_in, mlp_layers


def _linear_net(w1: np.ndarray, w2: np.ndarray) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 1, bias=False)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(w1))
        net[1].weight.copy_(torch.from_numpy(w2))
    return net


def _half_squared_error(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 0.5 * (out - y).square().sum()


def test_gradient_ics_matches_hand_computation_on_a_linear_network():
    # f = W2 W1 x, L = (f - y)^2 / 2: G2 = (f - y) (W1 x)^T y G1 = W2^T (f - y) x^T.
    w1 = np.array([[1.0, 0.5], [-0.3, 2.0]])
    w2 = np.array([[0.7, -1.2]])
    x = np.array([[1.0, -2.0]])
    y = np.array([[0.5]])
    lr = 0.1
    h = w1 @ x.T
    r = (w2 @ h - y.T).item()
    g2 = r * h.T
    g1 = r * w2.T @ x
    w1_new = w1 - lr * g1
    h_new = w1_new @ x.T
    g2_new = (w2 @ h_new - y.T).item() * h_new.T
    want_l2 = np.linalg.norm(g2 - g2_new)
    want_cos = float((g2 * g2_new).sum() / (np.linalg.norm(g2) * np.linalg.norm(g2_new)))

    net = _linear_net(w1, w2)
    out = gradient_ics(net, torch.from_numpy(x), torch.from_numpy(y), lr,
                       layers=[net[0], net[1]], loss_fn=_half_squared_error)
    assert out["ics_l2@1"] == pytest.approx(want_l2, rel=1e-9)
    assert out["ics_cos@1"] == pytest.approx(want_cos, rel=1e-9)
    assert out["ics_rel@1"] == pytest.approx(want_l2 / np.linalg.norm(g2), rel=1e-9)
    assert out["ics_l2"] == out["ics_l2@1"]  # una sola capa con capas anteriores


def test_gradient_ics_leaves_the_model_untouched_and_vanishes_with_tiny_steps():
    torch.manual_seed(0)
    model = MLP(784, (16, 16), norm="batch", bias=False)
    x, y = torch.randn(32, 784), torch.randint(0, 10, (32,))
    model(x).sum().backward()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.grad.clone() for p in model.parameters()]
    model.eval()
    tiny = gradient_ics(model, x, y, 1e-8)
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    for p, g in zip(model.parameters(), grads, strict=True):
        assert torch.equal(p.grad, g)
    assert set(tiny) >= {"ics_l2@1", "ics_l2@2", "ics_cos@2", "ics_rel", "ics_cos"}
    assert "ics_l2@0" not in tiny  # la primera capa no tiene capas anteriores
    assert tiny["ics_cos"] == pytest.approx(1.0, abs=1e-5)
    big = gradient_ics(model, x, y, 1.0)
    assert big["ics_rel"] > 100 * tiny["ics_rel"]


def test_gradient_ics_rejects_bad_arguments():
    model = MLP(784, (8,))
    x, y = torch.randn(4, 784), torch.randint(0, 10, (4,))
    with pytest.raises(ValueError):
        gradient_ics(model, x, y, 0.0)
    with pytest.raises(TypeError):
        gradient_ics(nn.Linear(784, 10), x, y, 0.1)  # no es un MLP y no se dan las capas
    with pytest.raises(TypeError):
        gradient_ics(model, x, y, 0.1, layers=[model.output])
    assert len(mlp_layers(model)) == 2


def test_keep_batchnorm_in_removes_the_other_layers_batchnorm():
    model = MLP(784, (8, 8, 8), norm="batch", bias=True)
    keep_batchnorm_in(model, [0, -1])
    has_bn = [any(isinstance(m, nn.BatchNorm1d) for m in block) for block in model.hidden]
    assert has_bn == [True, False, True]
    assert all(block[0].bias is not None for block in model.hidden)
    keep_batchnorm_in(model, [0])  # la capa 1 ya no tiene BN
    with pytest.raises(ValueError):
        keep_batchnorm_in(MLP(784, (8,)), [])
    with pytest.raises(ValueError):
        keep_batchnorm_in(MLP(784, (8,), norm="batch"), [3])


def test_state_restored_leaves_the_model_as_it_was():
    from bncourse.torch.training import state_restored

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    model.train()
    model[1].eval()  # una BN congelada a mano debe seguir congelada
    model(torch.randn(5, 3)).sum().backward()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.grad.clone() for p in model.parameters()]
    with state_restored(model):
        model.train()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        for p in model.parameters():
            p.grad = None
        model(torch.randn(5, 3))
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters(), strict=True))
    assert model.training and not model[1].training
