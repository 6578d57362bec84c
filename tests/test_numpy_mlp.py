"""El perceptrón multicapa de NumPy (``bncourse.numpy_mlp``) frente a la misma red en PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from bncourse.numpy_mlp import NumpyMLP, softmax_cross_entropy


def torch_twin(net: NumpyMLP) -> nn.Sequential:
    """La misma arquitectura en PyTorch, en float64, con los pesos de ``net``."""
    layers: list[nn.Module] = []
    sizes = net.sizes
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        layers.append(nn.Linear(a, b, bias=last or not net.batchnorm))
        if not last:
            if net.batchnorm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers).double()
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in net.state_dict().items()})
    return model


def test_softmax_cross_entropy_matches_torch():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4)) * 3
    labels = rng.integers(0, 4, 6)
    loss, grad = softmax_cross_entropy(logits, labels)
    t = torch.tensor(logits, requires_grad=True)
    ref = nn.functional.cross_entropy(t, torch.tensor(labels))
    ref.backward()
    assert loss == pytest.approx(ref.item(), abs=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("batchnorm", [True, False])
def test_training_matches_pytorch_step_by_step(batchnorm):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 12))
    y = rng.integers(0, 3, 64)
    net = NumpyMLP((12, 16, 8, 3), batchnorm=batchnorm, seed=3)
    model = torch_twin(net)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(15):
        idx = np.arange(step * 16, step * 16 + 16) % 64
        loss, dlogits = softmax_cross_entropy(net.forward(x[idx]), y[idx])
        net.sgd_step(net.backward(dlogits), 0.1)
        opt.zero_grad()
        ref = nn.functional.cross_entropy(model(torch.from_numpy(x[idx])), torch.from_numpy(y[idx]))
        ref.backward()
        opt.step()
        assert loss == pytest.approx(ref.item(), abs=1e-10)
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(net.state_dict()[name], value.numpy(), atol=1e-10, err_msg=name)
    net.eval()
    model.eval()
    np.testing.assert_allclose(net.forward(x), model(torch.from_numpy(x)).detach().numpy(), atol=1e-10)


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((10, 5))
    y = rng.integers(0, 3, 10)
    net = NumpyMLP((5, 7, 3), seed=0)
    _, d = softmax_cross_entropy(net.forward(x), y)
    grads = net.backward(d)
    for name, p in net.params.items():
        idx = tuple(rng.integers(0, s) for s in p.shape)
        old = p[idx]
        p[idx] = old + 1e-6
        lp, _ = softmax_cross_entropy(net.forward(x), y)
        p[idx] = old - 1e-6
        lm, _ = softmax_cross_entropy(net.forward(x), y)
        p[idx] = old
        assert grads[name][idx] == pytest.approx((lp - lm) / 2e-6, rel=1e-5, abs=1e-8), name


def test_modes_and_layout():
    net = NumpyMLP([4, 6, 2])
    assert set(net.params) == {"0.weight", "1.weight", "1.bias", "3.weight", "3.bias"}
    assert net.eval() is net and not net.training and net.train().training
    plain = NumpyMLP([4, 6, 2], batchnorm=False)
    assert set(plain.params) == {"0.weight", "0.bias", "2.weight", "2.bias"} and not plain.buffers
    x = np.ones((3, 4))
    net.eval()
    before = net.state_dict()
    net.forward(x)  # en inferencia no cambia las estadísticas
    assert all(np.array_equal(before[k], v) for k, v in net.state_dict().items())
    assert net.predict(x).shape == (3,)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: NumpyMLP([4]), ValueError, "al menos dos tamaños"),
    (lambda: NumpyMLP([4, 0]), ValueError, "«sizes» debe ser mayor o igual que 1"),
    (lambda: NumpyMLP([4, 2], dtype=np.int64), TypeError, "float32 o float64"),
    (lambda: NumpyMLP([4, 2], batchnorm="sí"), TypeError, "«batchnorm» debe ser True o False"),
    (lambda: NumpyMLP([4, 2]).forward(np.ones((2, 3))), ValueError, "4 columnas"),
    (lambda: NumpyMLP([4, 2]).backward(np.ones((2, 2))), RuntimeError, "Llame a forward"),
    (lambda: NumpyMLP([4, 2]).sgd_step({}, 0.1), ValueError, "Faltan los gradientes"),
    (lambda: softmax_cross_entropy(np.ones((2, 3)), np.array([0, 3])), ValueError, "entre 0 y 2"),
    (lambda: softmax_cross_entropy(np.ones((2, 3)), np.array([0])), ValueError, "una etiqueta por fila"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
