"""Proof that every check can fail: each registered check is killed by at least one broken denoiser or model.

The mutants are first tested for being what they claim (one defect each), then every
registered check is run on every base and mutant (`decdiff.checking.mutation.mutation_table`).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from decdiff import agent_histories, sample_trajectories
from decdiff.checking.mutant_denoisers import (
    BASES,
    PERTURBATION,
    SHIFT,
    WRONG_SIGMA_FACTOR,
    SmoothExactDenoiser,
    rare_history_features,
)
from decdiff.checking.mutant_models import correlated_observations
from decdiff.checking.mutation import MUTANTS, mutation_table
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.histories import history_batch
from decdiff.implementations.model_facts import observations_factored, per_step_co
from decdiff.implementations.models.registry import load_model
from decdiff.properties.registration import all_checks

MODEL = load_model("sensor-ring")
TRAJECTORIES = sample_trajectories(MODEL, 1, 64, seed=3)
HISTORIES = agent_histories(MODEL, TRAJECTORIES)
STATES = torch.from_numpy(MODEL.states[np.tile(TRAJECTORIES.states[:, -1], MODEL.n_agents)])
MUTANT = {m.name: m for m in MUTANTS}


def _noisy(sigma: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    y = STATES + sigma * torch.randn(STATES.shape, generator=generator, dtype=torch.float64)
    return y, torch.full((len(HISTORIES),), sigma, dtype=torch.float64)


@pytest.mark.parametrize("sigma", [0.1, 0.2, 0.3, 1.0])
def test_smooth_exact_denoiser_is_the_exact_one_on_one_hot_histories(sigma):
    y, s = _noisy(sigma)
    smooth = SmoothExactDenoiser(MODEL)
    torch.testing.assert_close(smooth(HISTORIES, y, s), ExactDenoiser(MODEL)(HISTORIES, y, s), rtol=0, atol=1e-12)
    j_tau = torch.func.jacrev(lambda f: smooth.forward_features(f, y[:1], s[:1]))(HISTORIES.features[:1])
    assert torch.isfinite(j_tau).all()                       # differentiable in the history features


@pytest.fixture(scope="module")
def subjects():
    """(base output, mutant output, mutant) of every denoiser mutant on the same noisy inputs."""
    y, s = _noisy(0.2)
    bases = {b: BASES[b](MODEL, 0.2, 0) for b in ("smooth-exact", "narrow-mlp")}
    out = {}
    for m in MUTANTS:
        if m.base in bases:
            _, mutant = m.make(MODEL, bases[m.base], 0)
            out[m.name] = (bases[m.base](HISTORIES, y, s).detach(), mutant(HISTORIES, y, s).detach(), mutant)
    return out, y, s


def _other_observations(histories):
    """The same agents with every observation index replaced by the next one (mod the alphabet)."""
    obs = (histories.observations.numpy() + 1) % MODEL.observation_sizes[0]
    return history_batch(MODEL, histories.agents.numpy(), histories.actions.numpy(), obs)


def test_each_denoiser_mutant_has_its_one_defect(subjects):
    out, y, s = subjects
    close = dict(rtol=0, atol=1e-12)
    base, shifted, _ = out["shifted"]
    torch.testing.assert_close(shifted, base + SHIFT, **close)
    _, identity, _ = out["identity"]
    torch.testing.assert_close(identity, y, **close)
    _, prior, _ = out["prior-mean"]
    torch.testing.assert_close(prior, torch.from_numpy(MODEL.initial @ MODEL.states).expand_as(y), **close)
    _, wrong, _ = out["wrong-sigma"]
    torch.testing.assert_close(wrong, SmoothExactDenoiser(MODEL)(HISTORIES, y, s * WRONG_SIGMA_FACTOR), **close)
    base, perturbed, _ = out["slightly-perturbed"]
    gap = (perturbed - base).abs()
    assert 0 < gap.max() <= PERTURBATION
    for name in ("ignores-history", "mlp-ignores-history"):
        _, blind, mutant = out[name]
        torch.testing.assert_close(mutant(_other_observations(HISTORIES), y, s).detach(), blind, **close)
        assert not torch.allclose(out[name][0], blind)
    _, pooled, mutant = out["ignores-agent-id"]
    others = history_batch(MODEL, (HISTORIES.agents.numpy() + 1) % MODEL.n_agents, HISTORIES.actions.numpy(),
                           HISTORIES.observations.numpy())
    torch.testing.assert_close(mutant(others, y, s), pooled, **close)
    base, collinear, _ = out["collinear-bias"]
    offsets = (collinear - base)
    assert torch.allclose(offsets[:, 1:], torch.zeros_like(offsets[:, 1:]), atol=1e-12)
    assert set(np.round(offsets[:, 0].numpy(), 10)) <= {0.1, 0.1001, 0.1002, 1.0}


def test_rare_history_mutant_is_exact_everywhere_else(subjects):
    out, _, s = subjects
    mutant = out["rare-histories-wrong"][2]
    y = torch.zeros(len(HISTORIES), MODEL.state_dim, dtype=torch.float64)      # far from every state
    base, rare = mutant.base(HISTORIES, y, s), mutant(HISTORIES, y, s)
    at_rare = torch.from_numpy((HISTORIES.features.numpy() == rare_history_features(MODEL)).all(axis=1))
    assert 0 < int(at_rare.sum()) < len(HISTORIES)
    torch.testing.assert_close(rare[~at_rare], base[~at_rare], rtol=0, atol=1e-12)
    assert (rare[at_rare] - base[at_rare]).abs().max() > 0.5               # the prior mean, not the state


def test_detached_history_has_the_values_of_its_bias_but_not_its_history_derivative(subjects):
    out, y, s = subjects
    torch.testing.assert_close(out["detached-history"][1], out["rank-growing-bias"][1], rtol=0, atol=1e-12)
    features = HISTORIES.features[:1]
    grads = [torch.func.jacrev(lambda f, m=out[name][2]: m.forward_features(f, y[:1], s[:1]))(features)
             for name in ("rank-growing-bias", "detached-history")]
    assert (grads[0] - grads[1]).abs().max() > 0.05


def test_correlated_observations_keep_joint_observability_but_make_each_reading_noise():
    mutated = correlated_observations(MODEL)
    assert per_step_co(mutated) and not observations_factored(mutated) and per_step_co(MODEL)
    for agent in range(mutated.n_agents):
        marginal, _ = mutated.observation.agent_marginal(agent)
        np.testing.assert_allclose(marginal, 1.0 / MODEL.observation_sizes[agent], atol=1e-15)


@pytest.fixture(scope="module")
def table():
    return mutation_table()


def test_every_registered_check_is_killed_by_some_mutant(table):
    print("\n" + table.to_markdown())
    assert table.checks == tuple(c.id for c in all_checks())
    assert table.errors == {}
    assert not table.unkilled, f"checks no mutant kills: {table.unkilled}\n{table.to_markdown()}"
    assert table.kill_rate == 1.0


def test_the_exact_denoiser_and_the_smooth_base_pass(table):
    exact = {c: cell.label for c, cell in table.bases["exact"].items()}
    assert not any(cell.fails and "violated" in cell.verdicts for cell in table.bases["exact"].values()), exact
    failing = [c for c, cell in table.bases["smooth-exact"].items() if cell.fails]
    assert failing == [], failing


def test_every_mutant_kills_a_check_and_the_table_serialises(table):
    model = load_model(table.subject["model"])
    useless = [m.name for m in MUTANTS if not any(table.killed(m, c) for c in table.checks)]
    assert useless == [m.name for m in MUTANTS if m.unseen(model)]
    record = json.loads(json.dumps(table.to_json()))
    assert record["kill_rate"] == 1.0 and len(record["mutants"]) == len(MUTANTS)
    assert {m["name"] for m in record["mutants"]} == set(MUTANT)
    lines = table.to_markdown().splitlines()
    assert len([line for line in lines if line.startswith("| ")]) == len(MUTANTS) + 1
