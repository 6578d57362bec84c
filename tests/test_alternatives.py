"""Pruebas de las alternativas a BN escritas desde cero (bncourse.torch.alternatives).

Cada capa se compara con su fórmula, escrita aquí de nuevo, y con la capa de PyTorch cuando la hay.
"""

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from bncourse.torch import (  # noqa: E402
    ALTERNATIVES,
    BatchRenorm,
    FilterResponseNorm,
    SkipInitResNet,
    WSConv2d,
    alternative_cnn,
    renorm_limits,
    saved_tensor_bytes,
)


def _x(*shape, seed=0, scale=3.0, shift=2.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale + shift).requires_grad_()


# --- renormalización por lotes ---------------------------------------------------------------


def test_renorm_limits_schedule():
    kw = dict(r_max=3.0, d_max=5.0, warmup_steps=10, r_max_steps=40, d_max_steps=20)
    assert renorm_limits(0, **kw) == (1.0, 0.0)
    assert renorm_limits(10, **kw) == (1.0, 0.0)
    assert renorm_limits(30, **kw) == pytest.approx((2.0, 5.0))
    assert renorm_limits(20, **kw) == pytest.approx((1.5, 2.5))
    assert renorm_limits(1000, **kw) == (3.0, 5.0)


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 6, 6)])
def test_renorm_with_r1_d0_equals_batchnorm_in_training(shape):
    x = _x(*shape)
    x2 = x.detach().clone().requires_grad_()
    brn = BatchRenorm(shape[1], r_max=1.0, d_max=0.0).double()
    bn = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(shape[1]).double()
    with torch.no_grad():
        for layer in (brn, bn):
            layer.weight.copy_(torch.linspace(0.5, 2.0, shape[1]))
            layer.bias.copy_(torch.linspace(-1.0, 1.0, shape[1]))
    y, y_ref = brn(x), bn(x2)
    torch.testing.assert_close(y, y_ref)
    up = torch.arange(y.numel(), dtype=y.dtype).reshape(y.shape).cos()
    (y * up).sum().backward()
    (y_ref * up).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)
    torch.testing.assert_close(brn.weight.grad, bn.weight.grad)
    torch.testing.assert_close(brn.bias.grad, bn.bias.grad)
    # Las medias móviles de la media coinciden; BN guarda la varianza insesgada, BRN la σ sesgada.
    torch.testing.assert_close(brn.running_mean, bn.running_mean)


def test_renorm_formula_training_and_moving_averages():
    x = _x(6, 4, 3, 3)
    brn = BatchRenorm(4, momentum=0.2, eps=1e-3, r_max=1.5, d_max=0.5).double()
    mu0 = torch.tensor([2.5, 0.0, 1.0, 2.0], dtype=torch.float64)
    sd0 = torch.tensor([1.0, 3.0, 9.0, 2.9], dtype=torch.float64)
    brn.running_mean.copy_(mu0)
    brn.running_std.copy_(sd0)
    y = brn(x)
    # La fórmula de Ioffe (2017), canal a canal.
    xc = x.detach().transpose(0, 1).reshape(4, -1)
    mb = xc.mean(1)
    sb = torch.sqrt(((xc - mb[:, None]) ** 2).mean(1) + 1e-3)
    r = (sb / sd0).clamp(1 / 1.5, 1.5)
    d = ((mb - mu0) / sd0).clamp(-0.5, 0.5)
    assert (r > 1 / 1.5).any() and (r < 1.5).any() and (r == 1.5).any()  # recorta y no recorta
    assert (d.abs() == 0.5).any() and (d.abs() < 0.5).any()
    v = lambda t: t.view(1, 4, 1, 1)  # noqa: E731
    expected = (x.detach() - v(mb)) / v(sb) * v(r) + v(d)
    torch.testing.assert_close(y.detach(), expected)
    torch.testing.assert_close(brn.running_mean, mu0 + 0.2 * (mb - mu0))
    torch.testing.assert_close(brn.running_std, sd0 + 0.2 * (sb - sd0))
    assert int(brn.num_batches_tracked) == 1


def test_renorm_r_and_d_carry_no_gradient():
    # Con r y d constantes, el gradiente es el de BN multiplicado por r (y d no aporta).
    x = _x(8, 3)
    x2 = x.detach().clone().requires_grad_()
    brn = BatchRenorm(3, r_max=2.0, d_max=1.0).double()
    brn.running_std.fill_(10.0)  # σ_B / σ es pequeño: r queda recortado en 1/2
    bn = nn.BatchNorm1d(3).double()
    up = torch.randn(8, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    (brn(x) * up).sum().backward()
    (bn(x2) * up).sum().backward()
    torch.testing.assert_close(x.grad, 0.5 * x2.grad)


def test_renorm_inference_uses_moving_statistics():
    brn = BatchRenorm(3).double().eval()
    brn.running_mean.copy_(torch.tensor([1.0, 2.0, 3.0]))
    brn.running_std.copy_(torch.tensor([2.0, 4.0, 0.5]))
    with torch.no_grad():
        brn.weight.fill_(2.0)
        brn.bias.fill_(1.0)
    x = _x(5, 3).detach()
    before = brn.running_mean.clone()
    y = brn(x)
    torch.testing.assert_close(y, 2.0 * (x - brn.running_mean) / brn.running_std + 1.0)
    torch.testing.assert_close(brn(x[:1]), y[:1])  # un ejemplo no depende de los demás
    assert torch.equal(before, brn.running_mean) and int(brn.num_batches_tracked) == 0


def test_renorm_follows_its_schedule_while_training():
    brn = BatchRenorm(2, r_max=3.0, d_max=5.0, warmup_steps=2, r_max_steps=4, d_max_steps=2)
    seen = []
    for _ in range(7):
        seen.append(brn.limits())
        brn(torch.randn(4, 2))
    assert seen[:3] == [(1.0, 0.0)] * 3
    assert seen[3] == pytest.approx((1.5, 2.5)) and seen[6] == (3.0, 5.0)


def test_renorm_errors_in_spanish():
    with pytest.raises(ValueError, match="r_max"):
        BatchRenorm(3, r_max=0.5)
    with pytest.raises(ValueError, match="mayor"):
        BatchRenorm(3, eps=0.0)
    with pytest.raises(ValueError, match="espera entradas"):
        BatchRenorm(3)(torch.randn(4, 5))
    with pytest.raises(ValueError, match="más de un valor por canal"):
        BatchRenorm(3)(torch.randn(1, 3))
    with pytest.raises(TypeError, match="entero"):
        renorm_limits(1.5)


# --- estandarización de pesos ----------------------------------------------------------------


def test_ws_conv_formula_and_gradient():
    torch.manual_seed(0)
    conv = WSConv2d(3, 5, kernel_size=3, padding=1, bias=False).double()
    w = conv.weight.detach()
    flat = w.reshape(5, -1)
    w_hat = (flat - flat.mean(1, keepdim=True)) / torch.sqrt(
        flat.var(1, unbiased=False, keepdim=True) + 1e-5
    )
    w_hat = w_hat.reshape(w.shape)
    ws = conv.standardized_weight().detach()
    assert ws.mean(dim=(1, 2, 3)).abs().max() < 1e-12
    var = flat.var(1, unbiased=False)
    torch.testing.assert_close(ws.var(dim=(1, 2, 3), unbiased=False), var / (var + 1e-5))
    x = _x(2, 3, 6, 6)
    torch.testing.assert_close(conv(x), F.conv2d(x, w_hat, padding=1))
    # La salida no cambia si se escalan o desplazan los pesos de un canal (salvo por eps).
    y = conv(x).detach()
    with torch.no_grad():
        conv.weight.mul_(7.0).add_(3.0)
    torch.testing.assert_close(conv(x).detach(), y, atol=1e-3, rtol=2e-3)
    assert torch.autograd.gradcheck(
        lambda inp: conv(inp), (x[:1, :, :4, :4].detach().requires_grad_(),)
    )


def test_ws_group_cnn_uses_ws_convs_and_groupnorm():
    model = alternative_cnn("ws_group")
    assert sum(isinstance(m, WSConv2d) for m in model.modules()) == 3
    assert [m.num_groups for m in model.modules() if isinstance(m, nn.GroupNorm)] == [8, 8, 8]


# --- FRN con TLU -----------------------------------------------------------------------------


def test_frn_formula_and_tlu():
    frn = FilterResponseNorm(4, eps=1e-6).double()
    with torch.no_grad():
        frn.weight.copy_(torch.linspace(0.5, 2.0, 4).view(1, 4, 1, 1))
        frn.bias.copy_(torch.linspace(-1.0, 1.0, 4).view(1, 4, 1, 1))
        frn.tau.copy_(torch.tensor([-0.5, 0.0, 0.3, 2.0]).view(1, 4, 1, 1))
    x = _x(3, 4, 5, 5)
    xd = x.detach()
    nu2 = (xd**2).mean(dim=(2, 3), keepdim=True)
    y = frn.weight * xd / torch.sqrt(nu2 + 1e-6) + frn.bias
    torch.testing.assert_close(frn(x).detach(), torch.maximum(y, frn.tau).detach())
    # No mira el resto del minilote: un ejemplo solo da lo mismo que en el minilote.
    torch.testing.assert_close(frn(x[1:2]), frn(x)[1:2])
    # Es invariante a la escala de cada ejemplo (no resta la media: no lo es a desplazamientos).
    torch.testing.assert_close(frn(3.0 * x), frn(x), atol=1e-6, rtol=1e-6)
    plain = FilterResponseNorm(4, tlu=False).double()
    assert plain.tau is None and (plain(x) < 0).any()


def test_frn_errors():
    with pytest.raises(ValueError, match="espera entradas"):
        FilterResponseNorm(4)(torch.randn(2, 4))
    with pytest.raises(TypeError, match="True o False|booleano|bool"):
        FilterResponseNorm(4, tlu=1)


# --- la red del capítulo con cada alternativa ------------------------------------------------


@pytest.mark.parametrize("norm", ALTERNATIVES)
def test_alternative_cnn_shapes_and_train_eval(norm):
    torch.manual_seed(0)
    model = alternative_cnn(norm)
    x = torch.randn(4, 3, 32, 32)
    assert model(x).shape == (4, 10)
    model.eval()
    with torch.no_grad():
        out = model(x)
        torch.testing.assert_close(model(x[:1]), out[:1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("norm", "layer"),
    [
        ("layer", lambda c: nn.GroupNorm(1, c)),
        ("group", lambda c: nn.GroupNorm(8, c)),
        ("instance", lambda c: nn.InstanceNorm2d(c, affine=True)),
    ],
)
def test_alternative_cnn_uses_the_framework_layers(norm, layer):
    from bncourse.torch import make_norm

    model = alternative_cnn(norm)
    layers = [model.features[i] for i in (1, 5, 9)]
    for m, c in zip(layers, (32, 64, 64), strict=True):
        ref = layer(c)
        assert type(m) is type(ref) and str(m) == str(ref)
    if norm in ("layer", "group"):  # las mismas capas que make_norm del resto del curso
        assert str(layers[0]) == str(make_norm(norm, 32, spatial=True))
    # Los canales de InstanceNorm son GroupNorm con un grupo por canal.
    if norm == "instance":
        x = _x(2, 32, 5, 5).float()
        gn = nn.GroupNorm(32, 32)
        torch.testing.assert_close(layers[0](x), gn(x), atol=1e-5, rtol=1e-5)


def test_alternative_cnn_frn_replaces_relu_and_renorm_gets_its_schedule():
    frn = alternative_cnn("frn")
    assert sum(isinstance(m, FilterResponseNorm) for m in frn.modules()) == 3
    assert not any(isinstance(m, nn.ReLU) for m in frn.features)
    brn = alternative_cnn("renorm", renorm={"warmup_steps": 7, "momentum": 0.05})
    layers = [m for m in brn.modules() if isinstance(m, BatchRenorm)]
    assert len(layers) == 3 and all(m.momentum == 0.05 for m in layers)
    assert all(m.schedule["warmup_steps"] == 7 for m in layers)
    convs = [m for m in brn.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is None for c in convs)
    assert all(
        c.bias is not None for c in alternative_cnn("none").modules() if isinstance(c, nn.Conv2d)
    )


def test_alternative_cnn_errors():
    with pytest.raises(ValueError, match="norm"):
        alternative_cnn("weight")
    with pytest.raises(ValueError, match="renorm"):
        alternative_cnn("batch", renorm={})
    with pytest.raises(ValueError, match="divida"):
        alternative_cnn("group", groups=5)


# --- SkipInit ---------------------------------------------------------------------------------


def test_skipinit_resnet_starts_as_identity_blocks():
    torch.manual_seed(0)
    model = SkipInitResNet("none")
    assert not any(isinstance(m, nn.BatchNorm2d | nn.GroupNorm) for m in model.modules())
    alphas = [m.alpha for m in model.modules() if getattr(m, "alpha", None) is not None]
    assert len(alphas) == 3 and all(float(a.detach()) == 0.0 for a in alphas)
    x = torch.randn(2, 3, 32, 32)
    # Con α = 0, cada bloque residual devuelve su entrada.
    h = model.features[1](model.features[0](x))
    torch.testing.assert_close(model.features[2](h), h)
    # ...pero α recibe gradiente y la red aprende a usar sus ramas.
    F.cross_entropy(model(x), torch.tensor([1, 2])).backward()
    assert all(a.grad is not None and float(a.grad.abs()) > 0 for a in alphas)
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == 9
    bn = SkipInitResNet("batch")
    assert all(getattr(m, "alpha", None) is None for m in bn.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.modules()) == 7
    assert bn(x).shape == (2, 10)
    with pytest.raises(ValueError, match="norm"):
        SkipInitResNet("group")


# --- memoria guardada para la retropropagación ------------------------------------------------


def test_saved_tensor_bytes_counts_what_autograd_keeps():
    x = torch.randn(10, 20, requires_grad=True)
    # exp guarda su resultado (10·20 float32 = 800 bytes); sum no guarda nada.
    assert saved_tensor_bytes(lambda: x.exp().sum()) == 800
    # x * x guarda x (una sola vez aunque aparezca dos veces).
    assert saved_tensor_bytes(lambda: (x * x).sum()) == 800
    with torch.no_grad():
        assert saved_tensor_bytes(lambda: x.exp().sum()) == 0
    with pytest.raises(TypeError, match="invocable"):
        saved_tensor_bytes(3)
