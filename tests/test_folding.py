"""Pruebas del plegado de BN en la capa previa (bncourse.torch.folding)."""

import pytest
import torch
from torch import nn

from bncourse.torch import MLP, RecipeCNN
from bncourse.torch.folding import fold_batchnorm, fold_model, foldable_pairs

TOL = 1e-5


def _randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Da a cada BN estadísticas y parámetros lejos de los iniciales (0, 1, 1, 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d | nn.BatchNorm3d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g))
                m.running_var.copy_(torch.rand(n, generator=g) * 3 + 0.05)
                if m.affine:
                    m.weight.copy_(torch.randn(n, generator=g))
                    m.bias.copy_(torch.randn(n, generator=g))
    return model


@pytest.mark.parametrize(
    ("layer", "bn", "shape"),
    [
        (nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), (5, 3, 10, 10)),
        (nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), (5, 3, 10, 10)),
        (nn.Conv2d(4, 8, 3, groups=2, stride=2, padding=1), nn.BatchNorm2d(8), (5, 4, 9, 9)),
        (nn.Conv1d(3, 6, 5), nn.BatchNorm1d(6), (4, 3, 20)),
        (nn.Conv3d(2, 4, 3), nn.BatchNorm3d(4), (2, 2, 6, 6, 6)),
        (nn.Linear(12, 7), nn.BatchNorm1d(7), (9, 12)),
        (nn.Linear(12, 7, bias=False), nn.BatchNorm1d(7, affine=False), (9, 12)),
    ],
)
def test_fold_batchnorm_matches_layer_then_bn(layer, bn, shape):
    torch.manual_seed(0)
    seq = _randomize_bn(nn.Sequential(layer, bn)).eval()
    x = torch.randn(*shape)
    folded = fold_batchnorm(layer, bn)
    assert type(folded) is type(layer)
    assert folded.bias is not None
    with torch.no_grad():
        diff = (folded(x) - seq(x)).abs().max().item()
    assert diff <= TOL


def test_fold_batchnorm_does_not_modify_arguments():
    layer, bn = nn.Linear(4, 3), _randomize_bn(nn.BatchNorm1d(3)).eval()
    w, b = layer.weight.clone(), layer.bias.clone()
    mean = bn.running_mean.clone()
    fold_batchnorm(layer, bn)
    assert torch.equal(layer.weight, w) and torch.equal(layer.bias, b)
    assert torch.equal(bn.running_mean, mean)


def test_fold_batchnorm_formula_on_a_tiny_case():
    layer = nn.Linear(1, 1)
    bn = nn.BatchNorm1d(1, eps=0.0).eval()
    with torch.no_grad():
        layer.weight.fill_(2.0)
        layer.bias.fill_(1.0)
        bn.running_mean.fill_(3.0)
        bn.running_var.fill_(4.0)
        bn.weight.fill_(0.5)
        bn.bias.fill_(-1.0)
    folded = fold_batchnorm(layer, bn)
    # s = 0.5 / 2 = 0.25; W' = 0.5; b' = 0.25 * (1 - 3) - 1 = -1.5
    assert folded.weight.item() == pytest.approx(0.5)
    assert folded.bias.item() == pytest.approx(-1.5)


@pytest.mark.parametrize("seed", [0, 1])
def test_fold_model_recipe_cnn_same_outputs(seed):
    torch.manual_seed(seed)
    model = RecipeCNN("batch")
    # Unos pasos de entrenamiento para que las estadísticas de población no sean las iniciales.
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(3):
        x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    _randomize_bn(model, seed)
    model.eval()
    folded = fold_model(model)
    assert not any(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # el original, intacto
    assert not folded.training
    x = torch.randn(32, 3, 32, 32)
    with torch.no_grad():
        ref, out = model(x), folded(x)
    assert (ref - out).abs().max().item() <= TOL
    assert torch.equal(ref.argmax(1), out.argmax(1))


def test_foldable_pairs_of_recipe_cnn():
    pairs = foldable_pairs(RecipeCNN("batch"))
    assert pairs == [
        ("features.0", "features.1"),
        ("features.4", "features.5"),
        ("features.8", "features.9"),
        ("classifier.1", "classifier.2"),
    ]
    assert foldable_pairs(RecipeCNN("group")) == []
    assert foldable_pairs(RecipeCNN("none")) == []


def test_fold_model_mlp_and_inplace():
    torch.manual_seed(0)
    model = _randomize_bn(MLP(20, (16, 8), 3, norm="batch")).eval()
    x = torch.randn(10, 20)
    with torch.no_grad():
        ref = model(x)
    same = fold_model(model, inplace=True)
    assert same is model
    assert len(foldable_pairs(model)) == 0
    with torch.no_grad():
        assert (model(x) - ref).abs().max().item() <= TOL


def test_fold_model_leaves_bn_after_activation():
    model = _randomize_bn(MLP(6, (4,), 2, norm="batch", norm_position="after")).eval()
    assert foldable_pairs(model) == []
    folded = fold_model(model)
    assert any(isinstance(m, nn.BatchNorm1d) for m in folded.modules())


def test_fold_model_without_bn_is_an_equal_copy():
    torch.manual_seed(0)
    model = RecipeCNN("none").eval()
    folded = fold_model(model)
    assert folded is not model
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), folded(x))


# --- errores -------------------------------------------------------------------------------


def test_fold_batchnorm_rejects_non_bn_layer():
    with pytest.raises(TypeError, match="normalización por lotes"):
        fold_batchnorm(nn.Conv2d(3, 4, 3), nn.GroupNorm(2, 4).eval())
    with pytest.raises(TypeError, match="normalización por lotes"):
        fold_batchnorm(nn.Linear(3, 4), nn.LayerNorm(4))


def test_fold_batchnorm_rejects_unsupported_first_layer():
    with pytest.raises(TypeError, match="nn.Linear, nn.Conv1d"):
        fold_batchnorm(nn.ReLU(), nn.BatchNorm1d(4).eval())
    with pytest.raises(TypeError, match="nn.Linear, nn.Conv1d"):
        fold_batchnorm(nn.ConvTranspose2d(3, 4, 3), nn.BatchNorm2d(4).eval())


def test_fold_batchnorm_rejects_mismatched_kind_and_shapes():
    with pytest.raises(TypeError, match="no puede ir seguida de BatchNorm1d"):
        fold_batchnorm(nn.Conv2d(3, 4, 3), nn.BatchNorm1d(4).eval())
    with pytest.raises(ValueError, match="produce 4 canales y la capa BN normaliza 5"):
        fold_batchnorm(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(5).eval())
    with pytest.raises(ValueError, match="produce 7 canales"):
        fold_batchnorm(nn.Linear(3, 7), nn.BatchNorm1d(6).eval())


def test_fold_batchnorm_rejects_training_mode_and_missing_stats():
    with pytest.raises(ValueError, match="modo de entrenamiento.*model.eval"):
        fold_batchnorm(nn.Linear(3, 4), nn.BatchNorm1d(4))
    with pytest.raises(ValueError, match="track_running_stats=False"):
        fold_batchnorm(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False).eval())


def test_fold_model_rejects_training_mode():
    model = RecipeCNN("batch")
    with pytest.raises(ValueError, match="modo de entrenamiento.*model.eval"):
        fold_model(model)
    model.eval()
    model.features[1].train()  # una sola BN olvidada en entrenamiento
    with pytest.raises(ValueError, match="features.1"):
        fold_model(model)


def test_fold_model_rejects_non_module():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        fold_model("red")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        foldable_pairs(None)
    with pytest.raises(TypeError, match="«inplace» debe ser True o False"):
        fold_model(RecipeCNN("batch").eval(), inplace=1)


def test_fold_batchnorm_agrees_with_torch_fusion_utilities():
    from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

    torch.manual_seed(0)
    conv, bn2 = nn.Conv2d(3, 6, 3), _randomize_bn(nn.BatchNorm2d(6), 1).eval()
    lin, bn1 = nn.Linear(5, 4), _randomize_bn(nn.BatchNorm1d(4), 2).eval()
    ours, ref = fold_batchnorm(conv.eval(), bn2), fuse_conv_bn_eval(conv.eval(), bn2)
    assert torch.allclose(ours.weight, ref.weight, atol=1e-6)
    assert torch.allclose(ours.bias, ref.bias, atol=1e-6)
    ours, ref = fold_batchnorm(lin.eval(), bn1), fuse_linear_bn_eval(lin.eval(), bn1)
    assert torch.allclose(ours.weight, ref.weight, atol=1e-6)
    assert torch.allclose(ours.bias, ref.bias, atol=1e-6)
