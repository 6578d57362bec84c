"""Pruebas de bncourse.torch.lstm: la celda LSTM normalizada y las secuencias con relleno."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bncourse.torch.lstm import NormLSTMCell, RowLSTM, crop_blank_rows, halve_rows, padded_lengths


def _copy_from_lstmcell(cell: NormLSTMCell, ref: nn.LSTMCell) -> None:
    with torch.no_grad():
        cell.input.weight.copy_(ref.weight_ih)
        cell.recurrent.weight.copy_(ref.weight_hh)
        cell.bias.copy_(ref.bias_ih + ref.bias_hh)


def test_sin_normalizar_es_nn_lstmcell():
    torch.manual_seed(0)
    ref = nn.LSTMCell(5, 7)
    cell = NormLSTMCell(5, 7, norm="none")
    _copy_from_lstmcell(cell, ref)
    x, h, c = torch.randn(4, 5), torch.randn(4, 7), torch.randn(4, 7)
    h_ref, c_ref = ref(x, (h, c))
    h_new, c_new = cell(x, (h, c))
    torch.testing.assert_close(h_new, h_ref)
    torch.testing.assert_close(c_new, c_ref)


def _formula(x, h, c, wx, wh, b, nx, nh, nc):
    gates = nx(x @ wx.T) + nh(h @ wh.T) + b
    i, f, g, o = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(nc(c)), c


def _standardize(z, eps=1e-5):
    return (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + eps)


def _layer(z, eps=1e-5):
    return (z - z.mean(1, keepdim=True)) / torch.sqrt(z.var(1, unbiased=False, keepdim=True) + eps)


def test_bn_por_paso_sigue_la_formula_de_cooijmans():
    torch.manual_seed(1)
    cell = NormLSTMCell(3, 4, norm="batch", max_steps=2).train()
    x, h, c = torch.randn(6, 3), torch.randn(6, 4), torch.randn(6, 4)
    h_new, c_new = cell(x, (h, c), 1)
    expected = _formula(
        x,
        h,
        c,
        cell.input.weight,
        cell.recurrent.weight,
        cell.bias,
        lambda z: 0.1 * _standardize(z),
        lambda z: 0.1 * _standardize(z),
        _standardize,
    )
    torch.testing.assert_close(h_new, expected[0])
    torch.testing.assert_close(c_new, expected[1])
    # Solo el paso 1 actualizó sus estadísticas de población.
    assert torch.equal(cell.norm_x.steps[0].running_mean, torch.zeros(16))
    assert not torch.equal(cell.norm_x.steps[1].running_mean, torch.zeros(16))


def test_layernorm_sigue_la_formula_de_ba():
    torch.manual_seed(2)
    cell = NormLSTMCell(3, 4, norm="layer")
    x, h, c = torch.randn(5, 3), torch.randn(5, 4), torch.randn(5, 4)
    h_new, c_new = cell(x, (h, c))
    expected = _formula(
        x, h, c, cell.input.weight, cell.recurrent.weight, cell.bias, _layer, _layer, _layer
    )
    torch.testing.assert_close(h_new, expected[0])
    torch.testing.assert_close(c_new, expected[1])
    # Cada ejemplo se normaliza solo: el resultado de uno no depende del resto del minilote.
    torch.testing.assert_close(cell(x[:1], (h[:1], c[:1]))[0], h_new[:1])


def test_rowlstm_conserva_el_estado_en_el_relleno():
    torch.manual_seed(3)
    model = RowLSTM(input_size=4, hidden_size=6, num_classes=3, norm="layer", max_steps=5)
    x = torch.randn(2, 3, 4)
    padded = torch.cat([x, torch.zeros(2, 2, 4)], dim=1)
    torch.testing.assert_close(model(padded), model(x))  # longitudes inferidas: 3
    with_lengths = model(padded, torch.tensor([3, 5]))
    torch.testing.assert_close(with_lengths[0], model(x)[0])
    assert not torch.allclose(with_lengths[1], model(x)[1])


def test_rowlstm_valida_la_entrada():
    model = RowLSTM(input_size=4, hidden_size=6)
    with pytest.raises(ValueError, match="RowLSTM espera"):
        model(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="lengths"):
        model(torch.ones(2, 3, 4), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="norm"):
        RowLSTM(norm="batch_shared")


def test_recorte_y_filas_pares():
    img = torch.zeros(2, 1, 6, 2)
    img[0, 0, 2:5] = 1.0  # filas 2, 3 y 4 con tinta
    img[1, 0, 0:6] = torch.arange(1, 7, dtype=torch.float).unsqueeze(1)
    cropped = crop_blank_rows(img)
    assert cropped.shape == (2, 6, 2)
    assert padded_lengths(cropped).tolist() == [3, 6]
    assert torch.equal(cropped[0, :3], torch.ones(3, 2)) and not cropped[0, 3:].any()
    assert torch.equal(cropped[1], img[1, 0])
    halved = halve_rows(cropped, torch.tensor([False, True]))
    assert torch.equal(halved[0], cropped[0])
    assert halved[1, :3, 0].tolist() == [1.0, 3.0, 5.0] and not halved[1, 3:].any()
    assert padded_lengths(halved).tolist() == [3, 3]


def test_bn_por_paso_se_puede_reestimar_y_mover():
    from bncourse.torch.bn_statistics import recompute_bn_stats

    torch.manual_seed(4)
    model = RowLSTM(input_size=4, hidden_size=6, num_classes=3, norm="batch", max_steps=3)
    x = torch.randn(8, 3, 4)
    model(x)  # una pasada en modo de entrenamiento
    recompute_bn_stats(model, [x, x])
    torch.testing.assert_close(
        model.cell.norm_x.steps[0].running_mean, model.cell.input(x[:, 0]).mean(0).detach()
    )
    assert model.double().cell.bias.dtype == torch.float64  # nn.Module._apply intacto


def test_rowgru_es_nn_gru_y_conserva_el_estado_en_el_relleno():
    from bncourse.torch.lstm import RowGRU

    torch.manual_seed(5)
    model = RowGRU(input_size=4, hidden_size=6, num_classes=3)
    ref = nn.GRU(4, 6, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, f"{name}_l0").copy_(getattr(model.cell, name))
    x = torch.randn(2, 3, 4)
    _, h_ref = ref(x)
    torch.testing.assert_close(model(x), model.head(h_ref[0]))  # la misma recurrencia que nn.GRU
    padded = torch.cat([x, torch.zeros(2, 2, 4)], dim=1)
    torch.testing.assert_close(model(padded), model(x))  # longitudes inferidas: 3
    with_lengths = model(padded, torch.tensor([3, 5]))
    torch.testing.assert_close(with_lengths[0], model(x)[0])
    assert not torch.allclose(with_lengths[1], model(x)[1])
    with pytest.raises(ValueError, match="RowGRU espera"):
        model(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="lengths"):
        model(torch.ones(2, 3, 4), torch.tensor([0, 3]))
