"""Pruebas de la capa de PyTorch (bncourse.torch) con datos reales y subconjuntos pequeños."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms as transforms
from recipe_original import RecipeNet
from torch import nn

import bncourse
from bncourse.torch import (
    MLP,
    ImageArrayDataset,
    RecipeCNN,
    cifar10_datasets,
    cifar10_tensors,
    count_parameters,
    evaluate,
    fit,
    make_loader,
    make_norm,
    make_optimizer,
    make_scheduler,
    mnist_tensors,
    recipe_transform,
    to_image_tensor,
    train_epoch,
)

RECIPE_PARAMETERS = 73_866  # parámetros entrenables de la red de la receta (con BN)
BN_PARAMETERS = 2 * (32 + 64 + 64 + 64)  # gamma y beta de las cuatro capas de BN


@pytest.fixture(scope="module")
def cifar_small(cifar_available):
    return cifar10_tensors(train_size=400, test_size=200, seed=0)


def _bn_layers(model):
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


# --- modelos -----------------------------------------------------------------------------------


@pytest.mark.parametrize("norm", ["batch", "group", "layer", "none"])
def test_recipe_cnn_output_shape(norm):
    model = RecipeCNN(norm)
    assert model.flat_features == 256
    assert model(torch.randn(5, 3, 32, 32)).shape == (5, 10)
    assert RecipeCNN(norm, in_channels=1, image_size=28)(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_mlp_output_shape():
    assert MLP(784, (32, 16), norm="batch")(torch.randn(4, 784)).shape == (4, 10)
    assert MLP(20, (8,), 3, norm_position="after", dropout=0.1)(torch.randn(3, 20)).shape == (3, 3)


def test_parameter_count_matches_recipe():
    recipe = RecipeNet()
    assert count_parameters(recipe) == RECIPE_PARAMETERS
    assert count_parameters(RecipeCNN("batch")) == RECIPE_PARAMETERS
    assert count_parameters(RecipeCNN("none")) == RECIPE_PARAMETERS - BN_PARAMETERS
    assert count_parameters(RecipeCNN("batch", bias=False)) == RECIPE_PARAMETERS - (
        32 + 64 + 64 + 64
    )
    # Los búferes de BN no son parámetros.
    buffers = sum(b.numel() for b in RecipeCNN("batch").buffers())
    assert buffers == 2 * (32 + 64 + 64 + 64) + 4


def test_same_seed_same_initial_weights_as_recipe_and_without_bn():
    torch.manual_seed(7)
    recipe = RecipeNet()
    torch.manual_seed(7)
    with_bn = RecipeCNN("batch")
    torch.manual_seed(7)
    without_bn = RecipeCNN("none")
    recipe_params = list(recipe.parameters())
    ours = list(with_bn.parameters())
    assert len(recipe_params) == len(ours)
    for a, b in zip(recipe_params, ours, strict=True):
        assert torch.equal(a, b)
    # Sin BN: las mismas convoluciones y capas densas, tensor a tensor.
    weights = lambda m: [  # noqa: E731
        p
        for n, p in m.named_parameters()
        if not isinstance(_module(m, n), nn.BatchNorm2d | nn.BatchNorm1d)
    ]
    for a, b in zip(weights(with_bn), weights(without_bn), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("norm", ["batch", "none"])
def test_relu_after_pooling_computes_what_the_recipe_computes(norm):
    # RecipeCNN aplica la ReLU tras el max pooling (más rápido); la receta, antes. Con los mismos
    # pesos, salidas, pérdidas y gradientes deben coincidir durante varios pasos de Adam.
    torch.manual_seed(3)
    ours = RecipeCNN(norm)
    recipe_order = copy.deepcopy(ours)
    blocks = list(recipe_order.features)
    for i in range(0, len(blocks), 4):  # conv, norm, pool, relu → conv, norm, relu, pool
        blocks[i + 2], blocks[i + 3] = nn.ReLU(), blocks[i + 2]
    recipe_order.features = nn.Sequential(*blocks)
    assert [type(m).__name__ for m in recipe_order.features[:4]][2:] == ["ReLU", "MaxPool2d"]
    assert [type(m).__name__ for m in ours.features[:4]][2:] == ["MaxPool2d", "ReLU"]
    optimizers = [torch.optim.Adam(m.parameters(), lr=1e-2) for m in (ours, recipe_order)]
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        x = torch.randn(16, 3, 32, 32, generator=generator)
        y = torch.randint(0, 10, (16,), generator=generator)
        losses = []
        for model, optimizer in zip((ours, recipe_order), optimizers, strict=True):
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            losses.append(loss.item())
        assert losses[0] == pytest.approx(losses[1], abs=1e-6)
        for a, b in zip(ours.parameters(), recipe_order.parameters(), strict=True):
            assert torch.allclose(a.grad, b.grad, atol=1e-6)
        for optimizer in optimizers:
            optimizer.step()
    ours.eval()
    recipe_order.eval()
    with torch.no_grad():
        x = torch.randn(8, 3, 32, 32, generator=generator)
        assert torch.allclose(ours(x), recipe_order(x), atol=1e-5)


def _module(model, param_name):
    return model.get_submodule(param_name.rsplit(".", 1)[0])


def test_sizing_pass_leaves_bn_buffers_untouched():
    # La receta mide la capa densa con una pasada en modo de entrenamiento: BN actualiza sus
    # estadísticas con un tensor de ceros. RecipeCNN lo hace en modo de inferencia.
    torch.manual_seed(0)
    recipe = RecipeNet()
    assert [int(b.num_batches_tracked) for b in _bn_layers(recipe)] == [1, 1, 1, 0]
    assert torch.allclose(recipe.bn1.running_var, torch.full((32,), 0.9))
    assert torch.allclose(recipe.bn1.running_mean, 0.1 * recipe.conv1.bias.detach())
    model = RecipeCNN("batch")
    assert model.training
    for bn in _bn_layers(model):
        assert int(bn.num_batches_tracked) == 0
        assert torch.equal(bn.running_mean, torch.zeros_like(bn.running_mean))
        assert torch.equal(bn.running_var, torch.ones_like(bn.running_var))


@pytest.mark.parametrize(
    ("kind", "spatial", "cls"),
    [
        ("batch", True, nn.BatchNorm2d),
        ("batch", False, nn.BatchNorm1d),
        ("group", True, nn.GroupNorm),
        ("layer", False, nn.LayerNorm),
        ("none", True, nn.Identity),
    ],
)
def test_make_norm(kind, spatial, cls):
    assert isinstance(make_norm(kind, 32, spatial=spatial), cls)


# --- datos -------------------------------------------------------------------------------------


def test_to_image_tensor_matches_torchvision(cifar_available):
    (x, _), _ = bncourse.load_cifar10()
    images = x[:16]
    reference = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
    )
    expected = torch.stack([reference(img) for img in images])
    got = to_image_tensor(images, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert got.shape == (16, 3, 32, 32) and got.dtype == torch.float32
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    standardized = transforms.Normalize(bncourse.CIFAR10_MEAN, bncourse.CIFAR10_STD)
    torch.testing.assert_close(
        to_image_tensor(images, bncourse.CIFAR10_MEAN, bncourse.CIFAR10_STD),
        torch.stack([standardized(transforms.ToTensor()(img)) for img in images]),
        rtol=0,
        atol=1e-6,
    )
    gray = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    torch.testing.assert_close(
        to_image_tensor(gray), torch.stack([transforms.ToTensor()(g) for g in gray])
    )


def test_transform_datasets_equal_tensor_datasets(cifar_small):
    train, test = cifar10_datasets(train_size=400, test_size=200, seed=0)
    assert len(train) == 400 and len(test) == 200
    for dataset, tensors in ((train, cifar_small[0]), (test, cifar_small[1])):
        for i in (0, 17, len(dataset) - 1):
            image, label = dataset[i]
            torch.testing.assert_close(image, tensors[i][0], rtol=0, atol=1e-6)
            assert label == int(tensors[i][1])
    loader = make_loader(train, 8, num_workers=0)
    x, y = next(iter(loader))
    assert x.shape == (8, 3, 32, 32) and y.dtype == torch.int64


def test_subsets_and_mnist_shapes(mnist_available):
    train, test = mnist_tensors(train_size=100, test_size=50)
    assert train.tensors[0].shape == (100, 784) and test.tensors[0].shape == (50, 784)
    assert float(train.tensors[0].min()) >= 0.0 and float(train.tensors[0].max()) <= 1.0
    image_train, _ = mnist_tensors(train_size=100, test_size=50, flatten=False)
    assert image_train.tensors[0].shape == (100, 1, 28, 28)
    assert np.bincount(train.tensors[1].numpy(), minlength=10).min() >= 8


def test_make_loader_is_reproducible(cifar_small):
    train, _ = cifar_small
    first = [y for _, y in make_loader(train, 100, shuffle=True, seed=3)]
    again = [y for _, y in make_loader(train, 100, shuffle=True, seed=3)]
    other = [y for _, y in make_loader(train, 100, shuffle=True, seed=4)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


# --- entrenamiento y evaluación ----------------------------------------------------------------


def test_fit_lowers_loss_on_real_subset(cifar_small):
    train, test = cifar_small
    bncourse.seed_everything(0)
    model = RecipeCNN("batch")
    history = fit(
        model,
        make_loader(train, 32, shuffle=True, seed=0),
        make_loader(test, 200),
        epochs=3,
        lr=3e-3,
        verbose=False,
        label="con BN",
    )
    assert history.epoch == [1, 2, 3]
    assert history.train_loss[-1] < 0.85 * history.train_loss[0]
    assert history.test_loss[-1] < history.test_loss[0]
    assert history.test_accuracy[-1] > 0.2  # por encima del azar (0.1)
    assert model.training


def test_fit_linear_schedule_ends_near_zero(cifar_small):
    train, test = cifar_small
    model = RecipeCNN("none")
    optimizer = make_optimizer(model, lr=1e-2)
    scheduler = make_scheduler(optimizer, "linear", 10)
    loader = make_loader(train, 40)  # 10 minilotes
    train_epoch(model, loader, optimizer, scheduler=scheduler)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert make_scheduler(optimizer, "constant", 10) is None
    history = fit(
        RecipeCNN("batch"),
        make_loader(train, 100),
        make_loader(test, 200),
        epochs=1,
        lr_schedule="linear",
        verbose=False,
    )
    assert len(history) == 1


def test_same_seed_same_history(cifar_small):
    train, test = cifar_small

    def run():
        bncourse.seed_everything(1)
        return fit(
            RecipeCNN("batch"),
            make_loader(train, 50, shuffle=True, seed=1),
            make_loader(test, 200),
            epochs=2,
            verbose=False,
        )

    a, b = run(), run()
    for name in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
        assert getattr(a, name) == getattr(b, name)


@pytest.mark.parametrize("start_in_training", [True, False])
def test_evaluate_restores_mode_and_keeps_buffers(cifar_small, start_in_training):
    train, test = cifar_small
    model = RecipeCNN("batch")
    optimizer = make_optimizer(model)
    train_epoch(model, make_loader(train, 100), optimizer)
    model.train(start_in_training)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loss, accuracy = evaluate(model, make_loader(test, 64))
    assert model.training is start_in_training
    assert all(m.training is start_in_training for m in model.modules())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # ni pesos ni búferes
    assert 0.0 <= accuracy <= 1.0 and np.isfinite(loss)
    # Evaluar en modo de entrenamiento (el error de la receta) sí cambia los búferes.
    model.train()
    with torch.no_grad():
        for x, _ in make_loader(test, 4):
            model(x)
    bn = model.features[1]
    assert int(bn.num_batches_tracked) == int(before["features.1.num_batches_tracked"]) + 50
    assert not torch.equal(bn.running_mean, before["features.1.running_mean"])


def test_evaluate_loss_matches_cross_entropy(cifar_small):
    _, test = cifar_small
    model = RecipeCNN("batch").eval()
    x, y = test.tensors
    with torch.no_grad():
        logits = model(x)
    loss, accuracy = evaluate(model, make_loader(test, 64))
    assert loss == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-5)
    assert accuracy == pytest.approx(float((logits.argmax(1) == y).float().mean()))


# --- entradas incorrectas: errores claros en español -------------------------------------------


def test_bad_images_for_to_image_tensor():
    with pytest.raises(TypeError, match="debe ser de tipo uint8"):
        to_image_tensor(np.zeros((2, 32, 32, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="debe tener 3 o 4 dimensiones"):
        to_image_tensor(np.zeros((32, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match="1 o 3 canales"):
        to_image_tensor(np.zeros((2, 32, 32, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="deben darse juntos"):
        to_image_tensor(np.zeros((2, 32, 32, 3), dtype=np.uint8), mean=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="secuencia de 3 números"):
        to_image_tensor(np.zeros((2, 32, 32, 3), dtype=np.uint8), (0.5,), (0.5,))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        to_image_tensor(torch.zeros(2, 32, 32, 3, dtype=torch.uint8))


def test_bad_images_for_models():
    model = RecipeCNN("batch")
    with pytest.raises(ValueError, match=r"RecipeCNN espera imágenes \(N, 3, 32, 32\)"):
        model(torch.zeros(4, 32, 32, 3))
    with pytest.raises(ValueError, match="RecipeCNN espera imágenes"):
        model(torch.zeros(4, 3, 28, 28))
    with pytest.raises(TypeError, match="tensor real"):
        model(torch.zeros(4, 3, 32, 32, dtype=torch.uint8))
    # Un solo ejemplo en modo de entrenamiento: BatchNorm1d no puede estimar la varianza y PyTorch
    # lo rechaza con su propio error (el capítulo de desventajas lo muestra y lo explica).
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        model(torch.zeros(1, 3, 32, 32))
    assert model.eval()(torch.zeros(1, 3, 32, 32)).shape == (1, 10)
    with pytest.raises(ValueError, match=r"MLP espera entradas \(N, 784\)"):
        MLP()(torch.zeros(4, 28, 28))
    with pytest.raises(TypeError, match="tensor real"):
        MLP()(torch.zeros(4, 784, dtype=torch.int64))


def test_bad_labels():
    images = np.zeros((3, 32, 32, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="entre 0 y 9"):
        ImageArrayDataset(images, np.array([0, 1, 10]))
    with pytest.raises(ValueError, match="una etiqueta por imagen"):
        ImageArrayDataset(images, np.array([0, 1]))
    with pytest.raises(TypeError, match="entero"):
        ImageArrayDataset(images, np.array([0.0, 1.0, 2.0]))
    bad = torch.utils.data.TensorDataset(
        torch.zeros(6, 3, 32, 32), torch.tensor([0, 1, 2, 3, 4, 12])
    )
    model = RecipeCNN("batch")
    with pytest.raises(ValueError, match="Las etiquetas deben estar entre 0 y 9"):
        evaluate(model, make_loader(bad, 6))
    with pytest.raises(ValueError, match="Las etiquetas deben estar entre 0 y 9"):
        train_epoch(model, make_loader(bad, 6), make_optimizer(model))
    negative = torch.utils.data.TensorDataset(torch.zeros(2, 3, 32, 32), torch.tensor([-1, 0]))
    with pytest.raises(ValueError, match="entre 0 y 9; se encontraron valores entre -1 y 0"):
        evaluate(model, make_loader(negative, 2))
    floats = torch.utils.data.TensorDataset(torch.zeros(2, 3, 32, 32), torch.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="deben ser enteras"):
        evaluate(model, make_loader(floats, 2))


def test_bad_arguments():
    model = RecipeCNN("none")
    with pytest.raises(ValueError, match="«norm» debe ser una de estas opciones"):
        RecipeCNN("batchnorm")
    with pytest.raises(TypeError, match="torch.utils.data.Dataset"):
        make_loader(np.zeros((4, 3)), 2)
    with pytest.raises(ValueError, match="«batch_size» debe ser mayor o igual que 1"):
        make_loader(torch.utils.data.TensorDataset(torch.zeros(2)), 0)
    with pytest.raises(TypeError, match="torch.utils.data.DataLoader"):
        evaluate(model, [(torch.zeros(2, 3, 32, 32), torch.zeros(2, dtype=torch.int64))])
    with pytest.raises(TypeError, match="torch.nn.Module"):
        count_parameters("red")
    with pytest.raises(ValueError, match="«lr_schedule» debe ser una de estas opciones"):
        make_scheduler(make_optimizer(model), "cosine", 10)
    with pytest.raises(ValueError, match="«mean» debe ser una secuencia de 1 o 3 números"):
        recipe_transform(mean=0.5)
    with pytest.raises(TypeError, match="«transform» debe ser una función"):
        ImageArrayDataset(np.zeros((1, 32, 32, 3), dtype=np.uint8), np.array([0]), transform=3)
    with pytest.raises(ValueError, match="«train_size» debe ser mayor o igual que 10"):
        cifar10_tensors(train_size=5)


# --- errores discretos de train_epoch (issue 15 §3) ------------------------------------------


def _tiny_loader(n=40, batch_size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    y = (x[:, 0] > 0).long()
    return make_loader(torch.utils.data.TensorDataset(x, y), batch_size)


def _frozen_weights_optimizer(model):
    # Tasa 0: los pesos no cambian, así que cada minilote se mide con los mismos pesos.
    return torch.optim.SGD(model.parameters(), lr=0.0)


def test_train_epoch_with_a_sum_loss_reports_the_mean():
    """Con reduction="sum" la pérdida ya suma el minilote: no se multiplica otra vez."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 2))
    loader = _tiny_loader()
    mean_loss, mean_acc = train_epoch(model, loader, _frozen_weights_optimizer(model))
    sum_loss, sum_acc = train_epoch(
        model,
        loader,
        _frozen_weights_optimizer(model),
        loss_fn=nn.CrossEntropyLoss(reduction="sum"),
    )
    assert sum_loss == pytest.approx(mean_loss, rel=1e-6)
    assert sum_acc == mean_acc
    eval_loss, _ = evaluate(model, loader)
    assert sum_loss == pytest.approx(eval_loss, rel=1e-6)  # sin BN ni dropout, es lo mismo


def test_train_epoch_respects_batchnorm_layers_frozen_with_eval():
    """El ajuste fino con las BN congeladas (``bn.eval()``) no se deshace en cada época."""
    torch.manual_seed(0)
    model = MLP(6, (8,), 2, norm="batch")
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm1d))
    model.train()
    bn.eval()
    bn.requires_grad_(False)
    before = {k: v.clone() for k, v in bn.state_dict().items()}
    optimizer = make_optimizer(model, "sgd", lr=0.1)
    train_epoch(model, _tiny_loader(), optimizer)
    assert model.training and not bn.training  # los modos de antes, tal cual
    evaluate(model, _tiny_loader())  # evaluar tampoco la descongela al restaurar los modos
    assert model.training and not bn.training
    fit(model, _tiny_loader(), _tiny_loader(), epochs=2, optimizer=optimizer, verbose=False)
    assert model.training and not bn.training
    for key, value in bn.state_dict().items():
        assert torch.equal(value, before[key]), key  # ni estadísticas ni contador cambian
    # Un modelo entero en modo de inferencia (p. ej., tras evaluarlo a mano) sí vuelve a entrenar.
    model.eval()
    train_epoch(model, _tiny_loader(), optimizer)
    assert model.training and bn.training
