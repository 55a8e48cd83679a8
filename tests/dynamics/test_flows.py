"""Flows (Eqs. 6-7, Definition 6): basin masses against the posterior (docs/claims.md#posterior-recovery), composite and
partial composite flows on the sensor ring and random models, and the Step-2 checks of §5.1."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.dynamics.certify import certify_rows
from decdiff.implementations.dynamics.contraction import geometry
from decdiff.implementations.dynamics.fixed_points import draw_starts, fixed_points
from decdiff.implementations.dynamics.flows import (
    MixtureMap,
    annealed_flow,
    composite_flow,
    conditioned_all,
    fixed_sigma_flow,
    geometric_schedule,
    proportion_interval,
    proportion_intervals,
    step2_checks,
    terminal_masses,
)
from decdiff.implementations.dynamics.sigma_bounds import certified_sigma_bounds
from decdiff.implementations.histories import agent_histories, history_batch
from decdiff.implementations.models.sensor_networks import sensor_ring
from decdiff.implementations.models.strategies import models
from decdiff.implementations.sampling import sample_trajectories
from decdiff.tolerances import FIXED_POINT_RESIDUAL, TEST_INTERVAL_CONFIDENCE

T = torch.float64
N_STARTS = 4000


def _agent3_all_zero():
    """docs/claims.md#posterior-recovery's agent: noisy ring, agent 3 sees (0, 0): posterior (0.4, 0.2, 0, 0.4)."""
    model = sensor_ring(noisy=True)
    history = history_batch(model, [2], np.zeros((1, 0), int), [[0]])
    denoiser = ExactDenoiser(model)
    return model, history, denoiser, denoiser.posteriors(history)[0]


def test_wilson_intervals_match_scipy():
    from scipy.stats import binomtest

    counts = np.array([0, 1, 7, 50, 99, 100])
    ours = proportion_intervals(counts, 100, 0.99)
    for k, (low, high) in zip(counts, ours):
        ci = binomtest(int(k), 100).proportion_ci(confidence_level=0.99, method="wilson")
        assert (low, high) == pytest.approx((ci.low, ci.high), abs=1e-14)
    assert proportion_interval(3, 10) == pytest.approx(tuple(proportion_intervals(np.array(3), 10)))


@pytest.mark.parametrize("start, recovers", [("posterior", True), ("prior-sigma", False), ("standard", False)])
def test_fixed_sigma_basin_masses_recover_the_posterior_only_from_p_sigma(start, recovers):
    """§6.5 table, fixed sigma = 0.3: p_sigma(y | tau) recovers (0.4, 0.2, 0.4); N(0, sigma^2 I) and N(0, I) do not."""
    model, history, denoiser, posterior = _agent3_all_zero()
    found = fixed_points(denoiser, model, history, 0.3, start=start, n_starts=N_STARTS, seed=1)
    stable = found.stable()
    assert sorted(p.nearest_state for p in stable) == [0, 1, 3]
    counts = np.array([p.basin_count for p in stable])
    assert counts.sum() == N_STARTS                                  # every start ends at a stable point
    intervals = proportion_intervals(counts, N_STARTS, TEST_INTERVAL_CONFIDENCE)
    exact = posterior.numpy()[[p.nearest_state for p in stable]]
    inside = (intervals[:, 0] <= exact) & (exact <= intervals[:, 1])
    assert inside.all() == recovers
    for p, (low, high) in zip(stable, intervals):                     # the reported interval is the 95% one
        assert p.basin_ci[0] >= low and p.basin_ci[1] <= high


@pytest.mark.parametrize("method, recovers", [("jump", False), ("euler", True), ("heun", True)])
def test_annealed_masses_eq6_jump_loses_a_state_pf_ode_recovers(method, recovers):
    """§6.5: Eq. 6 with sigma(t) = 3 e^{-0.5 k} (12 steps) from N(0, sigma_T^2 I) never reaches e2; a PF-ODE
    from p_{sigma_T}(y | tau), sigma 20 -> 0.01 geometric, reproduces the posterior."""
    _, _, denoiser, posterior = _agent3_all_zero()
    f = MixtureMap(denoiser.states, posterior)
    generator = torch.Generator().manual_seed(2)
    if method == "jump":
        schedule = 3.0 * torch.exp(-0.5 * torch.arange(13, dtype=T))
        y0 = float(schedule[0]) * torch.randn(N_STARTS, 4, generator=generator, dtype=T)
    else:
        schedule = geometric_schedule(20.0, 0.01, 200)
        y0 = draw_starts("posterior", N_STARTS, denoiser.states, posterior, 20.0, generator)
    masses = terminal_masses(annealed_flow(f, y0, schedule, method).y, denoiser.states, posterior,
                             TEST_INTERVAL_CONFIDENCE)
    assert masses.max_distance < 0.05                                  # every run ended at a state
    assert masses.contains(posterior.numpy()).all() == recovers
    if not recovers:
        assert masses.counts[masses.states.tolist().index(1)] == 0      # e2 is never reached


def _most_ambiguous(model, seed: int):
    """The history (length-1 batch) with the most consistent states in one sampled joint history."""
    histories = agent_histories(model, sample_trajectories(model, 2, 1, seed=seed))
    denoiser = ExactDenoiser(model)
    posteriors = denoiser.posteriors(histories)
    row = int(torch.argmax((posteriors > 0).sum(dim=1)))
    return histories[row], denoiser, posteriors[row]


@settings(max_examples=15)
@given(model=models(max_agents=2, max_states=4), seed=st.integers(0, 20))
def test_random_models_p_sigma_starts_and_pf_ode_recover_the_posterior(model, seed):
    history, denoiser, posterior = _most_ambiguous(model, seed)
    assume(int((posterior > 0).sum()) >= 2)
    found = fixed_points(denoiser, model, history, 0.15, n_starts=1000, seed=seed)
    stable = found.stable()
    assert sorted(p.nearest_state for p in stable) == torch.nonzero(posterior > 0).flatten().tolist()
    intervals = proportion_intervals(np.array([p.basin_count for p in stable]), 1000, TEST_INTERVAL_CONFIDENCE)
    exact = posterior.numpy()[[p.nearest_state for p in stable]]
    assert ((intervals[:, 0] <= exact) & (exact <= intervals[:, 1])).all()
    generator = torch.Generator().manual_seed(seed)
    y0 = draw_starts("posterior", 1000, denoiser.states, posterior, 20.0, generator)
    end = annealed_flow(MixtureMap(denoiser.states, posterior), y0, geometric_schedule(20.0, 0.01, 100), "euler").y
    assert terminal_masses(end, denoiser.states, posterior, TEST_INTERVAL_CONFIDENCE).contains(posterior.numpy()).all()


def _joint(model, length: int, seed: int):
    trajectories = sample_trajectories(model, length, 1, seed=seed)
    histories = agent_histories(model, trajectories)
    denoiser = ExactDenoiser(model)
    return histories, denoiser, denoiser.posteriors(histories).numpy(), int(trajectories.states[0, -1])


def _location_radii(denoiser, posteriors: np.ndarray, sigma: float) -> dict[tuple[int, int], float]:
    """(agent row, state) -> certified location radius at sigma (NaN where the certificate fails)."""
    geo = geometry(denoiser.states.numpy(), posteriors)
    radius = certify_rows(geo, np.asarray(sigma))["location_radius"]
    return {(int(h), int(s)): float(r) for h, s, r in zip(geo.history, geo.state, radius)}


@settings(max_examples=8)
@given(length=st.integers(1, 3), seed=st.integers(0, 1000), sigma=st.sampled_from([0.1, 0.3]))
def test_ring_composite_flow_reaches_the_true_state_for_every_order(length, seed, sigma):
    """Evidence 6.1 on the CO ring: all 24 orders, 64 starts from N(0, I), small sigma. Each agent's map
    sends the certified ball B(s, R), R = max_i r_min,i(s), into itself, and single-state agents map onto s,
    so the last iterate is within R of the true state s."""
    model = sensor_ring()
    histories, denoiser, posteriors, truth = _joint(model, length, seed)
    maps = conditioned_all(denoiser, histories)
    radii = _location_radii(denoiser, posteriors, sigma)
    bound = max(radii[(i, truth)] for i in range(4))
    y0 = torch.randn(64, 4, generator=torch.Generator().manual_seed(seed), dtype=T)
    for order in itertools.permutations(range(4)):
        end = composite_flow(maps, y0, sigma, 40, order).y
        dist = torch.cdist(end, denoiser.states)
        assert (dist.argmin(dim=1) == truth).all()
        assert float(dist[:, truth].max()) <= bound + FIXED_POINT_RESIDUAL


@settings(max_examples=15)
@given(model=models(max_agents=3, max_states=4), seed=st.integers(0, 1000))
def test_partial_composite_flows_end_at_states_consistent_with_the_participants(model, seed):
    """Section 5.2: every subset and order of the agents; the flow ends within the participants' certified
    radius of a state in the intersection of their supports."""
    histories, denoiser, posteriors, _ = _joint(model, 2, seed)
    assume(model.n_agents >= 2 and int((posteriors > 0).sum(axis=1).max()) >= 2)
    geo = geometry(denoiser.states.numpy(), posteriors)
    sigma = min(0.2, 0.5 * float(certified_sigma_bounds(geo).min()))
    radii = _location_radii(denoiser, posteriors, sigma)
    maps = conditioned_all(denoiser, histories)
    y0 = torch.randn(32, model.state_dim, generator=torch.Generator().manual_seed(seed), dtype=T)
    for k in range(1, model.n_agents + 1):
        for subset in itertools.combinations(range(model.n_agents), k):
            shared = np.flatnonzero((posteriors[list(subset)] > 0).all(axis=0))
            for order in itertools.permutations(subset):
                end = composite_flow(maps, y0, sigma, 12 * k, order).y
                dist = torch.cdist(end, denoiser.states)
                near = dist.argmin(dim=1)
                assert np.isin(near.numpy(), shared).all()
                bound = torch.tensor([max(radii[(i, int(s))] for i in subset) for s in near.tolist()], dtype=T)
                assert (dist.gather(1, near[:, None])[:, 0] <= bound + FIXED_POINT_RESIDUAL).all()


def test_step2_accepts_every_ring_sequence_at_small_sigma_and_none_past_the_merge():
    """Step 2 with bound 2 D, D = max_i r_min,i(s): at sigma = 0.3 every sequence passes (Wilson interval
    near 1); at sigma = 0.9 > sqrt(2)/2 the two-state agents' attractors have merged at the midpoint, so their
    own flows move the last iterate by ~0.7 and every sequence is rejected (interval near 0) although the
    composite flow itself still ends at the true state (the checks are what Theorem 7 rests on)."""
    model = sensor_ring()
    histories, denoiser, posteriors, truth = _joint(model, 1, 0)
    maps = conditioned_all(denoiser, histories)
    y0 = torch.randn(64, 4, generator=torch.Generator().manual_seed(5), dtype=T)
    bound = 2.0 * max(_location_radii(denoiser, posteriors, 0.3)[(i, truth)] for i in range(4))
    small = step2_checks(maps, composite_flow(maps, y0, 0.3, 40), 0.3, bound)
    assert small.acceptance_rate == 1.0 and small.ci[0] > 0.9
    flow = composite_flow(maps, y0, 0.9, 40)
    assert (torch.cdist(flow.y, denoiser.states).argmin(dim=1) == truth).all()
    merged = step2_checks(maps, flow, 0.9, bound)
    assert merged.acceptance_rate == 0.0 and merged.ci[1] < 0.1
    assert bool(merged.jacobian_ok.all()) and float(merged.movement.max()) > 0.5


@settings(max_examples=15)
@given(model=models(max_agents=3, max_states=4), seed=st.integers(0, 1000), sigma=st.sampled_from([0.2, 0.4]))
def test_accepted_sequences_end_within_three_d_of_a_shared_state(model, seed, sigma):
    """What check (2) implies (docs/claims.md#theorem-7): if each agent's attractor from y_L is within 2D of y_L and
    each attractor is within D of a state of that agent, and 6D < the least state distance, all attractors
    belong to one state s in every support and ||y_L - s|| < 3D. D: the largest certified location radius."""
    histories, denoiser, posteriors, _ = _joint(model, 2, seed)
    assume(model.n_agents >= 2 and int((posteriors > 0).sum(axis=1).max()) >= 2)
    radii = list(_location_radii(denoiser, posteriors, sigma).values())
    assume(all(np.isfinite(radii)))
    d_bar = max(radii)
    assume(6.0 * d_bar < np.sqrt(2.0))                                  # one-hot states
    maps = conditioned_all(denoiser, histories)
    y0 = torch.randn(64, model.state_dim, generator=torch.Generator().manual_seed(seed), dtype=T)
    flow = composite_flow(maps, y0, sigma, 8 * model.n_agents)
    checks = step2_checks(maps, flow, sigma, 2.0 * d_bar)
    ends = flow.y[checks.accepted]
    shared = np.flatnonzero((posteriors > 0).all(axis=0))
    dist = torch.cdist(ends, denoiser.states)
    assert np.isin(dist.argmin(dim=1).numpy(), shared).all()
    assert (dist.amin(dim=1) < 3.0 * d_bar + FIXED_POINT_RESIDUAL).all()
    assert checks.ci[0] <= checks.acceptance_rate <= checks.ci[1]


def test_a_continued_flow_spends_only_the_steps_each_row_has_left():
    """y <- y / 2 from 1: a row that already took 3 of 10 steps takes 7 more, one with 10 none."""
    halve = lambda y, sigma: y / 2
    y0 = torch.ones(3, 1, dtype=torch.float64)
    flow = fixed_sigma_flow(halve, y0, 0.3, 10, taken=torch.tensor([0, 3, 10]))
    assert flow.steps.tolist() == [10, 10, 10]
    assert flow.y[:, 0].tolist() == [2.0**-10, 2.0**-7, 1.0]
    assert not bool(flow.converged.any())
