"""Pruebas de la red recurrente fila a fila y de la BN por pasos (bncourse.torch.recurrent)."""

import pytest
import torch
from torch import nn

from bncourse.torch import count_parameters
from bncourse.torch.recurrent import RECURRENT_NORMS, RowRNN, StepwiseBatchNorm


@pytest.mark.parametrize("norm", RECURRENT_NORMS)
def test_rowrnn_shapes_and_inputs(norm):
    torch.manual_seed(0)
    model = RowRNN(norm=norm, hidden_size=16)
    x = torch.rand(5, 28, 28)
    out = model(x)
    assert out.shape == (5, 10)
    # Imágenes con un canal (N, 1, 28, 28) dan lo mismo que las secuencias (N, 28, 28).
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x[:, None]))


def test_rowrnn_parameter_counts():
    h, d = 16, 28
    base = d * h + h * h + (h * 10 + 10)  # entrada, recurrencia, cabeza
    counts = {norm: count_parameters(RowRNN(norm=norm, hidden_size=h)) for norm in RECURRENT_NORMS}
    assert counts["none"] == base + h  # sesgo de la entrada
    # Las tres normalizaciones llevan un γ y un β por unidad (el β hace de sesgo).
    assert counts["batch_shared"] == counts["batch_per_step"] == counts["layer"] == base + 2 * h


def test_rowrnn_batch_per_step_keeps_stats_per_step():
    torch.manual_seed(0)
    model = RowRNN(norm="batch_per_step", hidden_size=8, max_steps=28)
    norms = model.normalization.steps
    assert len(norms) == 28
    model(torch.rand(6, 28, 28))
    means = torch.stack([bn.running_mean for bn in norms])
    assert all(int(bn.num_batches_tracked) == 1 for bn in norms)
    # El primer paso parte de h = 0, los demás no: sus estadísticas son distintas.
    assert not torch.allclose(means[0], means[-1])


def test_rowrnn_batch_shared_updates_one_bn_per_step():
    model = RowRNN(norm="batch_shared", hidden_size=8)
    model(torch.rand(4, 28, 28))
    assert int(model.normalization.num_batches_tracked) == 28


def test_rowrnn_longer_sequences_at_inference():
    torch.manual_seed(0)
    for norm in RECURRENT_NORMS:
        model = RowRNN(norm=norm, hidden_size=8).eval()
        with torch.no_grad():
            assert model(torch.rand(3, 40, 28)).shape == (3, 10)
    model = RowRNN(norm="batch_per_step", hidden_size=8)
    with pytest.raises(ValueError, match="Paso 28 en entrenamiento.*max_steps"):
        model(torch.rand(3, 29, 28))


def test_stepwise_bn_reuses_last_step_or_raises():
    torch.manual_seed(0)
    bn = StepwiseBatchNorm(4, 3)
    for _ in range(5):
        for t in range(3):
            bn(torch.randn(8, 4) * (t + 1) + t, t)
    bn.eval()
    x = torch.randn(5, 4)
    assert torch.equal(bn(x, 2), bn(x, 10))
    assert not torch.allclose(bn(x, 0), bn(x, 2))
    strict = StepwiseBatchNorm(4, 3, beyond="error").eval()
    with pytest.raises(ValueError, match="paso 3.*beyond='last'"):
        strict(x, 3)


def test_stepwise_bn_matches_batchnorm_at_each_step():
    torch.manual_seed(0)
    bn = StepwiseBatchNorm(4, 2)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5, -1.0]))
        bn.bias.copy_(torch.tensor([0.0, 1.0, -1.0, 0.5]))
    ref = nn.BatchNorm1d(4)
    with torch.no_grad():
        ref.weight.copy_(bn.weight)
        ref.bias.copy_(bn.bias)
    x = torch.randn(10, 4) * 3 + 1
    assert torch.allclose(bn(x, 1), ref(x), atol=1e-6)
    assert torch.allclose(bn.steps[1].running_mean, ref.running_mean)
    assert int(bn.steps[0].num_batches_tracked) == 0


def test_layer_norm_rnn_is_independent_of_the_batch_in_training():
    torch.manual_seed(0)
    x = torch.rand(8, 28, 28)
    layer = RowRNN(norm="layer", hidden_size=16).train()
    assert torch.allclose(layer(x)[:2], layer(x[:2]), atol=1e-6)
    batch = RowRNN(norm="batch_per_step", hidden_size=16).train()
    assert not torch.allclose(batch(x)[:2], batch(x[:2]), atol=1e-3)


def test_rowrnn_bad_input():
    with pytest.raises(ValueError, match="«norm» debe ser una de estas opciones"):
        RowRNN(norm="group")
    with pytest.raises(TypeError, match="«hidden_size» debe ser un número entero"):
        RowRNN(hidden_size=8.5)
    model = RowRNN(hidden_size=8)
    with pytest.raises(ValueError, match=r"\(N, T, 28\).*\(4, 784\)"):
        model(torch.rand(4, 784))
    with pytest.raises(ValueError, match="recibió la forma"):
        model(torch.rand(4, 28, 27))
    with pytest.raises(TypeError, match="tensor real"):
        model(torch.zeros(4, 28, 28, dtype=torch.uint8))
    with pytest.raises(TypeError, match="espera un tensor"):
        model([[0.0] * 28])
    with pytest.raises(ValueError, match="«beyond» debe ser una de estas opciones"):
        StepwiseBatchNorm(4, 3, beyond="wrap")
    with pytest.raises(ValueError, match="«step» debe ser mayor o igual que 0"):
        StepwiseBatchNorm(4, 3)(torch.randn(2, 4), -1)
