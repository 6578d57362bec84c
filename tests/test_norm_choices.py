"""Pruebas de la normalización a elegir (BN, GroupNorm, LayerNorm, ninguna) en RecipeCNN y MLP.

Comprueban lo que el capítulo de desventajas usa: formas, número de parámetros, qué capas hay y,
sobre todo, que GroupNorm y LayerNorm no dependen del resto del minilote en entrenamiento,
mientras que BN sí (y deja de depender en evaluación).
"""

import pytest
import torch
from torch import nn

from bncourse.torch import MLP, NORMALIZATIONS, RecipeCNN, count_parameters

CNN_CHANNELS = (32, 64, 64, 64)  # tres convoluciones y la primera capa densa
MLP_HIDDEN = (100, 100, 100)


def _norm_layers(model):
    kinds = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)
    return [m for m in model.modules() if isinstance(m, kinds)]


@pytest.mark.parametrize("norm", NORMALIZATIONS)
def test_recipe_cnn_shapes(norm):
    torch.manual_seed(0)
    model = RecipeCNN(norm)
    assert model(torch.randn(3, 3, 32, 32)).shape == (3, 10)
    assert model.eval()(torch.randn(1, 3, 32, 32)).shape == (1, 10)


@pytest.mark.parametrize("norm", NORMALIZATIONS)
def test_mlp_shapes(norm):
    torch.manual_seed(0)
    model = MLP(784, MLP_HIDDEN, 10, norm=norm)
    assert model(torch.randn(4, 784)).shape == (4, 10)


def test_recipe_cnn_layers_per_choice():
    layers = {norm: _norm_layers(RecipeCNN(norm)) for norm in NORMALIZATIONS}
    assert [type(m) for m in layers["batch"]] == [nn.BatchNorm2d] * 3 + [nn.BatchNorm1d]
    assert all(isinstance(m, nn.GroupNorm) and m.num_groups == 8 for m in layers["group"])
    assert [m.num_channels for m in layers["group"]] == list(CNN_CHANNELS)
    # LayerNorm sobre mapas convolucionales = GroupNorm con un grupo; tras la capa densa, LayerNorm.
    assert [getattr(m, "num_groups", None) for m in layers["layer"][:3]] == [1, 1, 1]
    assert isinstance(layers["layer"][3], nn.LayerNorm)
    assert layers["none"] == []


@pytest.mark.parametrize(
    ("factory", "widths"),
    [
        (lambda norm: RecipeCNN(norm), CNN_CHANNELS),
        (lambda norm: MLP(784, MLP_HIDDEN, 10, norm=norm), MLP_HIDDEN),
    ],
    ids=["RecipeCNN", "MLP"],
)
def test_parameter_counts(factory, widths):
    counts = {norm: count_parameters(factory(norm)) for norm in NORMALIZATIONS}
    # Las tres normalizaciones tienen un γ y un β por canal: el mismo número de parámetros.
    assert counts["batch"] == counts["group"] == counts["layer"]
    assert counts["batch"] - counts["none"] == 2 * sum(widths)


def test_only_batchnorm_keeps_running_statistics():
    buffers = {
        norm: [name for name, _ in RecipeCNN(norm).named_buffers()] for norm in NORMALIZATIONS
    }
    assert len(buffers["batch"]) == 3 * 4  # running_mean, running_var, num_batches_tracked × 4
    assert all(
        n.endswith(("running_mean", "running_var", "num_batches_tracked")) for n in buffers["batch"]
    )
    assert buffers["group"] == buffers["layer"] == buffers["none"] == []


def _first_two_alone_vs_in_batch(model, x):
    with torch.no_grad():
        return (model(x)[:2] - model(x[:2])).abs().max().item()


@pytest.mark.parametrize("norm", ["group", "layer", "none"])
def test_gn_ln_outputs_do_not_depend_on_the_batch_in_training(norm):
    torch.manual_seed(0)
    cnn = RecipeCNN(norm).train()
    mlp = MLP(784, MLP_HIDDEN, 10, norm=norm).train()
    assert _first_two_alone_vs_in_batch(cnn, torch.randn(16, 3, 32, 32)) < 1e-5
    assert _first_two_alone_vs_in_batch(mlp, torch.randn(16, 784)) < 1e-5


def test_bn_outputs_depend_on_the_batch_in_training_but_not_in_eval():
    torch.manual_seed(0)
    cnn = RecipeCNN("batch")
    mlp = MLP(784, MLP_HIDDEN, 10, norm="batch")
    xc, xm = torch.randn(16, 3, 32, 32), torch.randn(16, 784)
    assert _first_two_alone_vs_in_batch(cnn.train(), xc) > 1e-2
    assert _first_two_alone_vs_in_batch(mlp.train(), xm) > 1e-2
    assert _first_two_alone_vs_in_batch(cnn.eval(), xc) < 1e-5
    assert _first_two_alone_vs_in_batch(mlp.eval(), xm) < 1e-5


def test_batch_of_one_in_training():
    torch.manual_seed(0)
    # BatchNorm1d con un solo valor por canal no puede estimar la varianza: PyTorch lo rechaza.
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        MLP(784, MLP_HIDDEN, 10, norm="batch").train()(torch.randn(1, 784))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        RecipeCNN("batch").train()(torch.randn(1, 3, 32, 32))
    # BatchNorm2d sí acepta una imagen (promedia sobre sus posiciones): el error sale en la densa.
    RecipeCNN("batch").features.train()(torch.randn(1, 3, 32, 32))
    for norm in ("group", "layer", "none"):
        assert RecipeCNN(norm).train()(torch.randn(1, 3, 32, 32)).shape == (1, 10)
        assert MLP(784, MLP_HIDDEN, 10, norm=norm).train()(torch.randn(1, 784)).shape == (1, 10)
