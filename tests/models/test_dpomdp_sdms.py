"""Tests of the `.dpomdp` parser on SDM'Studio's quoted dialect."""

from __future__ import annotations

import itertools

import numpy as np
from dpomdp_cases import bundled, dense_t, sdms_model

from decdiff.implementations.models.dpomdp_parser import parse_dpomdp


def test_sdms_mabc_equals_broadcast_channel() -> None:
    a, b = bundled("sdms_mabc"), bundled("broadcastChannel")
    assert a.state_names == b.state_names and a.action_names == b.action_names
    np.testing.assert_allclose(dense_t(a), dense_t(b), rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.observation, b.observation, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.reward, b.reward, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.start, b.start, rtol=0, atol=1e-12)


def test_sdms_tiger_equals_dectiger_after_reordering_actions() -> None:
    sdms, madp = bundled("sdms_tiger"), bundled("dectiger")
    assert sdms.observation_names == madp.observation_names
    order = [sdms.action_names[0].index(name) for name in madp.action_names[0]]  # madp index -> sdms index
    perm = [order[a1] * 3 + order[a2] for a1, a2 in itertools.product(range(3), repeat=2)]
    np.testing.assert_allclose(dense_t(sdms)[perm], dense_t(madp), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sdms.observation[perm], madp.observation, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sdms.reward[:, perm], madp.reward, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sdms.start, madp.start, rtol=0, atol=1e-12)


def test_sdms_inline_forms() -> None:
    body = 'T: "*" :\n"identity"\nO: "*" : "*" : "*" : 0.25\nR: "*" : "s1" : 3\nR: "a" "d" : 0 : -1\n'
    data = parse_dpomdp(sdms_model(body))
    assert data.dialect == "sdms"
    np.testing.assert_array_equal(data.start, [0.5, 0.5])
    np.testing.assert_array_equal(data.reward, [[0, -1, 0, 0], [3, 3, 3, 3]])
    assert parse_dpomdp(sdms_model(body, start='start:\n"uniform"')).start[1] == 0.5
