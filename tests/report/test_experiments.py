"""The report's experiment helpers: training cache, Fig. 1 history, projections, PSNR and its interval."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
from scipy import stats

from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.models.registry import load_model
from decdiff.implementations.training import TrainingConfig, sample_pairs
from decdiff.report.composite import (
    denoising_errors,
    joint_rows,
    psnr,
    seed_difference,
    table1_check,
)
from decdiff.report.deviations import principal_axes
from decdiff.report.figures import table1_rows
from decdiff.report.training import TrainSpec, ensure_trained
from decdiff.report.vector_fields import TRUE_STATE, fig1_history

TINY = TrainingConfig(history_length=1, sigma=0.3, samples=20, epochs=1, width=8, depth=1, batch_size=32, seed=0)


def test_checkpoints_are_cached_per_configuration(tmp_path):
    spec = TrainSpec("sensor-ring", TINY)
    assert spec.config.device == "cpu" and spec.config.threads == 1
    first, trained = ensure_trained(spec, tmp_path)
    assert trained and spec.checkpoint(tmp_path).is_file()
    again, trained = ensure_trained(spec, tmp_path)
    assert not trained and again == first
    other = TrainSpec("sensor-ring", dataclasses.replace(TINY, seed=1))
    assert other.key != spec.key
    # a file at the other spec's path that holds this spec's checkpoint is not taken for it
    shutil.copy(spec.checkpoint(tmp_path), other.checkpoint(tmp_path))
    _, trained = ensure_trained(other, tmp_path)
    assert trained


def test_fig1_history_is_the_most_ambiguous_one():
    noisy = load_model("sensor-ring-noisy")
    traj = fig1_history(noisy, 1, seed=0)
    assert traj.states[0, -1] == TRUE_STATE
    joint = noisy.joint_posterior(traj.actions, traj.observations)[0]
    assert [noisy.state_names[s] for s in np.flatnonzero(joint > 0)] == ["area1", "area2"]   # all sensors see 00
    ring = load_model("sensor-ring")
    traj = fig1_history(ring, 1, seed=0)
    assert np.count_nonzero(ring.joint_posterior(traj.actions, traj.observations)[0]) == 1   # CO: always one state


def test_principal_axes_are_orthonormal_and_span_a_plane():
    points = np.array([[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [1, 2, 0]])
    mean, axes = principal_axes(points)
    assert np.allclose(axes.T @ axes, np.eye(2))
    assert np.allclose(mean, [0.5, 1, 0])
    assert np.allclose(np.abs(axes[:, 0]), [0, 1, 0])          # the widest direction first
    assert (axes[np.abs(axes).argmax(axis=0), [0, 1]] > 0).all()


def test_principal_axes_of_tied_directions_are_the_same_whatever_the_svd_returns():
    """Five two-target states of the 3x3 grid: four equal singular values, so LAPACK's basis is arbitrary;
    reordered and perturbed by round-off, the points must still project the same way on every machine."""
    model = load_model("sensor-grid:3x3:targets=2:miss=0")
    names = ["r0c2+r1c0", "r1c0+r1c2", "r1c0+r2c0", "r1c0+r2c1", "r1c0+r2c2"]
    points = model.states[[model.state_names.index(n) for n in names]].astype(float)
    _, axes = principal_axes(points)
    assert np.allclose(axes.T @ axes, np.eye(2))
    rng = np.random.default_rng(0)
    for _ in range(5):
        order = rng.permutation(len(points))
        _, other = principal_axes(points[order] + 1e-13 * rng.standard_normal(points.shape))
        assert np.abs(other - axes).max() < 1e-9


def test_composite_beats_individual_with_the_exact_denoiser():
    """Collectively observable grid, f*: composite diffusion finds the true state, an agent alone cannot."""
    model = load_model("sensor-grid:3x3:targets=2")
    batches, states = joint_rows(sample_pairs(model, 1, 12, seed=3), model.n_agents, 12)
    individual, composite = denoising_errors(ExactDenoiser(model), batches, states, 0.3, 1, seed=0)
    assert individual.shape == composite.shape == (12,)
    assert psnr(composite.mean(), 1.0) > psnr(individual.mean(), 1.0) + 20
    assert composite.max() < 1e-3


def test_seed_difference_is_the_mean_of_per_seed_differences_with_a_t_interval():
    rng = np.random.default_rng(0)
    worse = [(rng.uniform(0.2, 0.3, 50), rng.uniform(0.01, 0.02, 50)) for _ in range(3)]
    result = seed_difference(worse, 1.0)
    per_seed = [psnr(c.mean(), 1.0) - psnr(i.mean(), 1.0) for i, c in worse]
    assert result["difference"] == pytest.approx(np.mean(per_seed), rel=1e-5)
    half = stats.t.ppf(0.975, 2) * np.std(per_seed, ddof=1) / np.sqrt(3)
    assert result["ci"] == pytest.approx([np.mean(per_seed) - half, np.mean(per_seed) + half], rel=1e-5)
    assert result["verdict"] == "holds" and len(result["per_seed"]) == 3
    flipped = [(c, i) for i, c in worse]
    assert seed_difference(flipped, 1.0)["verdict"] == "violated"
    one_seed = seed_difference(worse[:1], 1.0)
    assert one_seed["ci"] is None and one_seed["verdict"] == "inconclusive"


def _columns(errors: list[tuple[np.ndarray, np.ndarray]]) -> list[dict]:
    cell = seed_difference(errors, 1.0)
    return [{"factor": "width", "value": 64, "train": cell, "test": cell}]


def test_table1_check_reads_every_cell():
    rng = np.random.default_rng(1)
    better = [(rng.uniform(0.2, 0.3, 20), rng.uniform(0.01, 0.02, 20)) for _ in range(3)]
    subject = {"model": "m", "denoiser": "trained", "sigma": 0.5, "history_length": 1}
    holds = table1_check(_columns(better), subject, 3, seed=0)
    assert holds.verdict == "holds" and holds.margin > 0
    assert holds.margin == pytest.approx(min(holds.ci))
    mixed = _columns(better) + [{**c, "value": 32, "test": seed_difference([(b, a) for a, b in better], 1.0)}
                                for c in _columns(better)]
    violated = table1_check(mixed, subject, 3, seed=0)
    assert violated.verdict == "violated" and violated.margin < 0
    assert violated.details["worst_cell"] == "width=32 test"
    single = table1_check(_columns(better[:1]), subject, 1, seed=0)
    assert single.verdict == "inconclusive" and single.observed is None


def test_table1_rows_lay_out_every_column():
    cell = {"individual": 10.0, "composite": 12.5, "difference": 2.5, "ci": [1.0, 4.0], "verdict": "holds"}
    data = {"columns": [{"factor": "width", "value": 64, "train": cell,
                         "test": {**cell, "ci": None, "verdict": "inconclusive"}}]}
    header, rows = table1_rows(data)
    assert header == ["setting", "method", "W=64"]
    assert ["train", "composite > individual", "holds"] in rows
    assert ["test", "composite > individual", "inconclusive"] in rows
    assert ["train", "difference [CI across seeds]", "+2.50 [+1.00, +4.00]"] in rows
    assert ["test", "difference [CI across seeds]", "+2.50 [no interval (one seed)]"] in rows
