"""Pruebas de bncourse.sweep: rejillas, tabla ordenada, resúmenes, figuras y errores en español.

Usan funciones de entrenamiento de juguete (NumPy), sin ningún marco de aprendizaje profundo.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bncourse.history import History  # noqa: E402
from bncourse.plotting import PALETTE  # noqa: E402
from bncourse.sweep import (  # noqa: E402
    expand_grid,
    final_rows,
    first_reaching,
    plot_sweep_curves,
    plot_sweep_final,
    run_sweep,
    summarize_final,
)


def toy_run(norm: str, lr: float, seed: int = 0, steps: int = 4):
    """«Entrenamiento» de juguete: exactitud que sube más deprisa con BN y con más tasa."""
    rng = np.random.default_rng(seed)
    speed = lr * (3.0 if norm == "batch" else 1.0)
    rows = []
    for step in range(0, steps + 1):
        accuracy = 1 - math.exp(-speed * step) * 0.9 + 0.01 * rng.standard_normal()
        rows.append({"step": step * 10, "test_accuracy": accuracy, "train_loss": 1 / (1 + step)})
    return rows


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --- expand_grid -----------------------------------------------------------------------------


def test_expand_grid_is_the_ordered_cartesian_product():
    grid = expand_grid(norm=["none", "batch"], lr=(0.01, 0.1, 1.0))
    assert len(grid) == 6
    assert grid[0] == {"norm": "none", "lr": 0.01}
    assert grid[1] == {"norm": "none", "lr": 0.1}
    assert grid[3] == {"norm": "batch", "lr": 0.01}
    assert [list(g) for g in grid] == [["norm", "lr"]] * 6


def test_expand_grid_single_axis_and_unhashable_values():
    grid = expand_grid(noisy=[None, {"mean_range": 1.0}])
    assert grid == [{"noisy": None}, {"noisy": {"mean_range": 1.0}}]


@pytest.mark.parametrize(
    ("axes", "error", "match"),
    [
        ({}, ValueError, "al menos un eje"),
        ({"lr": 0.1}, TypeError, "lista o tupla"),
        ({"norm": "batch"}, TypeError, "lista o tupla"),
        ({"lr": []}, ValueError, "está vacío"),
        ({"lr": [0.1, 0.1]}, ValueError, "valores repetidos"),
        ({"step": [1, 2]}, ValueError, "reservado"),
    ],
)
def test_expand_grid_rejects_bad_axes(axes, error, match):
    with pytest.raises(error, match=match):
        expand_grid(**axes)


# --- run_sweep -------------------------------------------------------------------------------


def test_run_sweep_returns_one_row_per_run_and_step():
    grid = expand_grid(norm=["none", "batch"], lr=[0.1, 0.5])
    table = run_sweep(grid, toy_run, verbose=False)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["run", "norm", "lr", "step", "test_accuracy", "train_loss"]
    assert len(table) == 4 * 5
    assert table.groupby("run").size().tolist() == [5, 5, 5, 5]
    assert table.loc[table.run == 2, "norm"].unique().tolist() == ["batch"]
    assert table.loc[table.run == 2, "lr"].unique().tolist() == [0.1]
    assert len(table.attrs["seconds"]) == 4 and all(s >= 0 for s in table.attrs["seconds"])
    assert table.attrs["config"] == ["norm", "lr"]


def test_run_sweep_accepts_history_and_single_dict():
    def with_history(label: str):
        history = History(label=label)
        for acc in (0.5, 0.7):
            history.append(
                train_loss=1.0, train_accuracy=acc, test_loss=1.1, test_accuracy=acc, seconds=0.1
            )
        return history

    table = run_sweep([{"label": "a"}, {"label": "b"}], with_history, verbose=False)
    assert list(table.columns[:3]) == ["run", "label", "epoch"]
    assert table["epoch"].tolist() == [1, 2, 1, 2]

    single = run_sweep(expand_grid(x=[1, 2, 3]), lambda x: {"y": x * x}, verbose=False)
    assert single["y"].tolist() == [1, 4, 9]


def test_run_sweep_is_deterministic_and_prints_one_line_per_run(capsys):
    grid = expand_grid(norm=["none", "batch"], seed=[0, 1])
    first = run_sweep(grid, lambda norm, seed: toy_run(norm, 0.3, seed), verbose=True)
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed == [
        "[1/4] norm=none, seed=0",
        "[2/4] norm=none, seed=1",
        "[3/4] norm=batch, seed=0",
        "[4/4] norm=batch, seed=1",
    ]
    second = run_sweep(grid, lambda norm, seed: toy_run(norm, 0.3, seed), verbose=False)
    pd.testing.assert_frame_equal(first, second)
    # Las semillas cambian de verdad el resultado (la prueba no es trivial).
    a = first[(first.norm == "none") & (first.seed == 0)].test_accuracy.to_numpy()
    b = first[(first.norm == "none") & (first.seed == 1)].test_accuracy.to_numpy()
    assert not np.array_equal(a, b)


def test_run_sweep_checks_keys_against_run_before_training():
    calls = []

    def run(norm: str, lr: float):
        calls.append(norm)
        return {"acc": 1.0}

    with pytest.raises(ValueError, match=r"no acepta: \['lrr'\]"):
        run_sweep(expand_grid(norm=["none", "batch"], lrr=[0.1]), run)
    with pytest.raises(ValueError, match=r"faltan argumentos obligatorios de «run»: \['lr'\]"):
        run_sweep(expand_grid(norm=["none", "batch"]), run)
    assert calls == []  # ninguna configuración llegó a entrenarse


@pytest.mark.parametrize(
    ("configs", "error", "match"),
    [
        ([], TypeError, "lista no vacía"),
        ({"norm": "none"}, TypeError, "lista no vacía"),
        ("norm", TypeError, "lista no vacía"),
        ([{"norm": "none"}, ("norm", "batch")], TypeError, "debe ser un diccionario"),
        ([{"norm": "none"}, {"norm": "batch", "lr": 1}], ValueError, "mismas claves"),
        ([{1: "none"}], TypeError, "deben ser cadenas"),
        ([{"norm": "none", "run": 3}], ValueError, "reservados"),
    ],
)
def test_run_sweep_rejects_bad_configurations(configs, error, match):
    with pytest.raises(error, match=match):
        run_sweep(configs, lambda **kw: {"acc": 1.0}, verbose=False)


def test_run_sweep_rejects_bad_run_and_results():
    with pytest.raises(TypeError, match="«run» debe ser una función"):
        run_sweep([{"a": 1}], "no soy una función")
    with pytest.raises(TypeError, match="«verbose» debe ser True o False"):
        run_sweep([{"a": 1}], lambda a: {"b": a}, verbose="sí")
    with pytest.raises(TypeError, match="debe devolver un History"):
        run_sweep([{"a": 1}], lambda a: 3.0, verbose=False)
    with pytest.raises(TypeError, match="lista no vacía de diccionarios"):
        run_sweep([{"a": 1}], lambda a: [1, 2], verbose=False)
    with pytest.raises(ValueError, match="repiten columnas de la configuración"):
        run_sweep([{"a": 1}], lambda a: {"a": 2.0}, verbose=False)


def test_errors_inside_run_say_which_configuration_failed():
    def run(lr: float):
        if lr > 1:
            raise FloatingPointError("divergió")
        return {"acc": 0.9}

    with pytest.raises(FloatingPointError, match="divergió") as info:
        run_sweep(expand_grid(lr=[0.1, 10.0]), run, verbose=False)
    assert "Falló la configuración 2 de 2: lr=10.0." in info.value.__notes__


# --- resúmenes -------------------------------------------------------------------------------


def _stopping_run(lr: float, seed: int):
    steps = 2 if lr > 1 else 4  # con tasa alta «diverge» y se detiene antes
    return [
        {"step": s, "acc": (0.1 if lr > 1 else 0.2 * s) + 0.01 * seed} for s in range(steps + 1)
    ]


def test_final_rows_takes_the_last_row_of_each_run_even_if_it_stopped_early():
    table = run_sweep(expand_grid(lr=[0.1, 10.0], seed=[0, 1]), _stopping_run, verbose=False)
    shuffled = table.sample(frac=1.0, random_state=0)  # el orden de las filas no importa
    final = final_rows(shuffled)
    assert final["run"].tolist() == [0, 1, 2, 3]
    assert final["step"].tolist() == [4, 4, 2, 2]
    assert final["acc"].round(3).tolist() == [0.8, 0.81, 0.1, 0.11]


def test_summarize_final_aggregates_seeds():
    table = run_sweep(expand_grid(lr=[0.1, 10.0], seed=[0, 1]), _stopping_run, verbose=False)
    stats = summarize_final(table, x="lr", y="acc")
    assert stats["lr"].tolist() == [0.1, 10.0]
    assert stats["count"].tolist() == [2, 2]
    assert stats["mean"].round(3).tolist() == [0.805, 0.105]
    assert stats["min"].round(3).tolist() == [0.8, 0.1]
    assert stats["max"].round(3).tolist() == [0.81, 0.11]


def test_first_reaching_gives_the_first_step_or_infinity():
    table = run_sweep(expand_grid(lr=[0.1, 10.0], seed=[0]), _stopping_run, verbose=False)
    reached = first_reaching(table, y="acc", threshold=0.5)
    assert list(reached.columns) == ["run", "lr", "seed", "reached"]
    assert reached["reached"].tolist() == [3.0, math.inf]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda t: final_rows(t.drop(columns="run")), TypeError, "columna «run»"),
        (lambda t: final_rows([1, 2]), TypeError, "tabla de run_sweep"),
        (
            lambda t: summarize_final(t, x="lr", y="nada"),
            ValueError,
            r"no tiene las columnas \['nada'\]",
        ),
        (lambda t: first_reaching(t, y="acc", threshold="alto"), TypeError, "número real"),
        (
            lambda t: first_reaching(t.drop(columns="step"), y="acc", threshold=0.5),
            ValueError,
            "indique «x»",
        ),
    ],
)
def test_summaries_reject_bad_tables(call, error, match):
    table = run_sweep(expand_grid(lr=[0.1]), lambda lr: _stopping_run(lr, 0), verbose=False)
    with pytest.raises(error, match=match):
        call(table)


# --- figuras ---------------------------------------------------------------------------------


def test_plot_sweep_curves_draws_one_curve_per_hue_with_band_for_seeds():
    table = run_sweep(
        expand_grid(norm=["none", "batch"], seed=[0, 1, 2]),
        lambda norm, seed: toy_run(norm, 0.3, seed),
        verbose=False,
    )
    ax = plot_sweep_curves(
        table,
        x="step",
        y="test_accuracy",
        hue="norm",
        percent=True,
        labels={"none": "sin BN", "batch": "con BN"},
        order=["batch", "none"],
        legend_title="",
        colors={"none": "#000000"},
    )
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["con BN", "sin BN"]
    assert lines[0].get_color() == PALETTE[0] and lines[1].get_color() == "#000000"
    assert len(ax.collections) == 2  # una banda mínimo-máximo por curva (tres semillas)
    mean_batch = table[table.norm == "batch"].groupby("step").test_accuracy.mean() * 100
    np.testing.assert_allclose(lines[0].get_ydata(), mean_batch.to_numpy())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["con BN", "sin BN"]


def test_plot_sweep_curves_without_seeds_has_no_band_and_uses_given_axes():
    table = run_sweep(
        expand_grid(norm=["none", "batch"]), lambda norm: toy_run(norm, 0.3), verbose=False
    )
    fig, ax = plt.subplots()
    out = plot_sweep_curves(table, x="step", y="train_loss", hue="norm", ax=ax, logy=True)
    assert out is ax and len(ax.collections) == 0
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "Paso de entrenamiento"


def test_sweep_figures_have_spanish_default_labels():
    """Sin xlabel, ylabel ni legend_title, los rótulos están en español, no son columnas."""
    table = run_sweep(
        expand_grid(norm=["none", "batch"]), lambda norm: toy_run(norm, 0.3), verbose=False
    )
    table["test_accuracy"] = 0.5
    table["mi_métrica"] = 1.0
    ax = plot_sweep_curves(table, x="step", y="test_accuracy", hue="norm", percent=True)
    assert (ax.get_xlabel(), ax.get_ylabel()) == (
        "Paso de entrenamiento",
        "Exactitud de prueba (%)",
    )
    assert ax.get_legend().get_title().get_text() == "Normalización"
    table["lr"] = 0.1
    ax = plot_sweep_final(table, x="lr", y="train_loss", hue="norm")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Tasa de aprendizaje", "Pérdida de entrenamiento")
    ax = plot_sweep_curves(table, x="step", y="mi_métrica", hue="norm")
    assert ax.get_ylabel() == "Mi métrica"
    plt.close("all")


def test_sweep_figures_live_in_plotting_and_are_still_importable_from_sweep():
    import bncourse.plotting as plotting
    import bncourse.sweep as sweep

    assert sweep.plot_sweep_curves is plotting.plot_sweep_curves
    assert sweep.plot_sweep_final is plotting.plot_sweep_final
    assert plotting.axis_label("lr") == "Tasa de aprendizaje"
    with pytest.raises(AttributeError):
        sweep.plot_nothing  # noqa: B018


def test_plot_sweep_final_draws_means_with_min_max_bars():
    table = run_sweep(expand_grid(lr=[0.1, 10.0], seed=[0, 1]), _stopping_run, verbose=False)
    table["norm"] = "none"
    ax = plot_sweep_final(
        table, x="lr", y="acc", hue="norm", logx=True, xlabel="Tasa", colors={"none": "#123456"}
    )
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "Tasa"
    assert len(ax.containers) == 1
    line = ax.get_lines()[0]
    assert line.get_color() == "#123456"
    np.testing.assert_allclose(line.get_xdata(), [0.1, 10.0])
    np.testing.assert_allclose(line.get_ydata(), [0.805, 0.105])


@pytest.mark.parametrize("plot", [plot_sweep_curves, plot_sweep_final])
def test_plots_reject_missing_columns_and_non_tables(plot):
    table = run_sweep(expand_grid(norm=["none"]), lambda norm: toy_run(norm, 0.3), verbose=False)
    with pytest.raises(ValueError, match=r"no tiene las columnas \['lr'\]"):
        plot(table, x="lr", y="test_accuracy", hue="norm")
    with pytest.raises(TypeError, match="tabla de run_sweep"):
        plot({"step": [1]}, x="step", y="test_accuracy", hue="norm")
    with pytest.raises(TypeError, match="«percent» debe ser True o False"):
        plot(table, x="step", y="test_accuracy", hue="norm", percent="sí")
