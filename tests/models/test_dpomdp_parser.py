"""Tests of the `.dpomdp` parser on MADP's grammar: every shipped file, hand-computed cases."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse
from dpomdp_cases import UNIFORM, bundled, dense_t, model

from decdiff.errors import InputError
from decdiff.implementations.models.dpomdp_parser import (
    bundled_dpomdp_names,
    bundled_dpomdp_path,
    load_dpomdp,
    parse_dpomdp,
)

# Expected facts of each shipped file, recorded independently of this parser: n, |S|, |A_i|,
# |Omega_i|, discount, start support, R range (min, max) over MADP's R(s, ja), dialect.
FACTS = {
    "dectiger": (2, 2, 3, 2, 1.0, 2, (-101, 20), "madp"),
    "dectiger_skewed": (2, 2, 3, 2, 1.0, 2, (-101, 20), "madp"),
    "broadcastChannel": (2, 4, 2, 2, 1.0, 1, (0, 1), "madp"),
    "GridSmall": (2, 16, 5, 2, 0.9, 1, (0, 1), "madp"),
    "Grid3x3corners": (2, 81, 5, 9, 1.0, 1, (0, 1), "madp"),
    "recycling": (2, 4, 3, 2, 0.9, 1, (-3.88, 5), "madp"),
    "boxPushingUAI07": (2, 100, 4, 5, 1.0, 1, (-10.2, 99.8), "madp"),
    "Mars": (2, 256, 6, 8, 1.0, 1, (-11, 6), "madp"),
    "fireFighting_2_3_3": (2, 432, 3, 2, 1.0, 27, (-4.8, 0), "madp"),
    "fireFighting_2_4_3": (2, 2025, 4, 2, 1.0, 81, (-6.8, 0), "madp"),
    "oneDoor_2_7_0.20_0.00_0_2": (2, 65, 4, 2, 0.95, 1, (-20, 2), "madp"),
    "relay4": (2, 4, 3, 3, 0.95, 1, (-50, 50), "madp"),
    "2generals": (2, 2, 2, 2, 1.0, 2, (-20, 5), "madp"),
    "prisoners": (2, 1, 2, 2, 1.0, 1, (-10, 0), "madp"),
    "sdms_wirelessDelay": (2, 64, 2, 6, 0.9, 4, (-6, 0), "sdms"),
    "sdms_wirelessWithOverhead": (2, 64, 2, 6, 0.9, 4, (0, 0.015), "sdms"),
    "sdms_mabc": (2, 4, 2, 2, 1.0, 1, (0, 1), "sdms"),
    "sdms_tiger": (2, 2, 3, 2, 1.0, 2, (-101, 20), "sdms"),
}


def test_bundled_names_are_the_19_files() -> None:
    assert set(bundled_dpomdp_names()) == set(FACTS) | {"example"}
    assert bundled_dpomdp_path("dectiger.dpomdp") == bundled_dpomdp_path("dectiger")
    assert bundled_dpomdp_path("dectiger").is_file()


def test_unknown_bundled_name_lists_the_available_ones() -> None:
    with pytest.raises(InputError, match="dectiger") as info:
        bundled_dpomdp_path("nosuchmodel")
    assert "nosuchmodel" in str(info.value)


def test_missing_file_is_an_input_error(tmp_path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_dpomdp(tmp_path / "absent.dpomdp")


@pytest.mark.parametrize("name", sorted(FACTS))
def test_file_sizes_and_distributions(name: str) -> None:
    n, n_s, n_a, n_o, discount, support, (r_min, r_max), dialect = FACTS[name]
    data = bundled(name)
    assert data.dialect == dialect
    assert len(data.agent_names) == n
    assert len(data.state_names) == n_s
    assert [len(a) for a in data.action_names] == [n_a] * n
    assert [len(o) for o in data.observation_names] == [n_o] * n
    assert data.discount == discount
    assert np.count_nonzero(data.start) == support
    assert abs(data.start.sum() - 1) <= 1e-12
    n_ja, n_jo = n_a**n, n_o**n
    assert len(data.transition) == n_ja
    assert data.observation.shape == (n_ja, n_s, n_jo)
    assert data.reward.shape == (n_s, n_ja)
    for matrix in data.transition:
        assert matrix.shape == (n_s, n_s)
        assert np.abs(np.asarray(matrix.sum(axis=1)) - 1).max() <= 1e-12
        assert (matrix.data if scipy.sparse.issparse(matrix) else matrix).min() >= 0
    assert np.abs(data.observation.sum(axis=2) - 1).max() <= 1e-12
    assert data.observation.min() >= 0
    digits = 4
    assert round(data.reward.min(), digits) == r_min
    assert round(data.reward.max(), digits) == r_max


def test_large_file_is_sparse_and_small_ones_dense() -> None:
    assert all(isinstance(m, scipy.sparse.csr_array) for m in bundled("fireFighting_2_4_3").transition)
    assert all(isinstance(m, np.ndarray) for m in bundled("Mars").transition)
    assert bundled("fireFighting_2_4_3").transition[0].dtype == np.float64


def test_example_dpomdp_is_rejected() -> None:
    with pytest.raises(InputError) as info:
        load_dpomdp(bundled_dpomdp_path("example"))
    assert info.value.line == 199  # `T: 1 2 :`, index 2 out of range for agent 2
    assert "out of range" in str(info.value)


# ----- hand-computed cases ------------------------------------------------------------


def test_dectiger_hand_values() -> None:
    data = bundled("dectiger")
    assert data.action_names == (("listen", "open-left", "open-right"),) * 2
    t = dense_t(data)
    np.testing.assert_array_equal(t[0], np.eye(2))  # listen listen: identity
    for ja in range(1, 9):
        np.testing.assert_array_equal(t[ja], np.full((2, 2), 0.5))  # uniform
    o = data.observation
    assert o[0, 0, 0] == 0.7225  # (listen, listen), tiger-left, (hear-left, hear-left)
    assert o[0, 0, 1] == 0.1275
    assert o[0, 1, 3] == 0.7225  # tiger-right, (hear-right, hear-right)
    assert o[0, 1, 0] == 0.0225
    np.testing.assert_array_equal(o[5], np.full((2, 4), 0.25))
    r = data.reward  # R[s, ja], ja = 3 * a1 + a2
    assert r[0, 0] == r[1, 0] == -2
    assert r[0, 4] == -50 and r[1, 4] == 20  # open-left open-left
    assert r[1, 8] == -50 and r[0, 8] == 20  # open-right open-right
    assert r[0, 3] == -101 and r[1, 3] == 9  # open-left listen
    assert r[0, 5] == -100  # open-left open-right
    np.testing.assert_array_equal(data.start, [0.5, 0.5])


def test_dectiger_skewed_start() -> None:
    np.testing.assert_array_equal(bundled("dectiger_skewed").start, [0.8, 0.2])


def test_broadcast_channel_start_and_wildcard_from_state() -> None:
    data = bundled("broadcastChannel")
    np.testing.assert_array_equal(data.start, [0, 0, 0, 1])  # start: S11
    t = dense_t(data)
    for s in range(4):  # T: send send : * : S00 : 0.09 ...
        np.testing.assert_allclose(t[0, s], [0.09, 0.01, 0.81, 0.09])


def _next_state_rewards(name: str) -> np.ndarray:
    """r(s') from the `R: * : * : <s'> : * : r` lines of a file (independent of the parser)."""
    data = bundled(name)
    r_next = np.zeros(len(data.state_names))
    text = bundled_dpomdp_path(name).read_text()
    lines = re.findall(r"^R: \* : \* : (\S+) : \* : (\S+)$", text, re.M)
    assert lines
    for state, value in lines:
        s = int(state) if state.isdigit() else data.state_names.index(state)
        r_next[s] += float(value)
    return r_next


@pytest.mark.parametrize("name", ["GridSmall", "fireFighting_2_3_3"])
def test_next_state_rewards_use_t(name: str) -> None:
    data = bundled(name)
    expected = np.stack([m @ _next_state_rewards(name) for m in data.transition], axis=1)
    np.testing.assert_allclose(data.reward, expected, rtol=0, atol=1e-12)


def test_relay4_include_start_and_zeroing() -> None:
    data = bundled("relay4")
    np.testing.assert_array_equal(data.start, [0, 0, 0, 1])
    assert data.observation[0, 0, 8] == 1  # shuffle shuffle: (idle, idle)
    assert data.observation[8, 0, 8] == 0  # sense sense: zeroed by `O: sense sense : * : * : 0`
    assert data.observation[8, 0, 0] == 0.81  # then re-set: (door, door)


def test_fire_fighting_include_81_states() -> None:
    data = bundled("fireFighting_2_4_3")
    support = np.flatnonzero(data.start)
    assert len(support) == 81
    np.testing.assert_allclose(data.start[support], 1 / 81)
    assert all(data.state_names[s].endswith("start_start") for s in support)



def test_joint_index_order_three_agents() -> None:
    text = model(
        UNIFORM + "R: 1 0 1 : * : * : * : 7\nR: 0 2 1 : * : * : * : 5\n",
        agents="3", actions="2\n3\n2", observations="1\n1\n1",
    )
    data = parse_dpomdp(text)
    assert data.agent_names == ("0", "1", "2")
    assert data.action_names == (("0", "1"), ("0", "1", "2"), ("0", "1"))
    expected = np.zeros(12)
    expected[7], expected[5] = 7, 5
    np.testing.assert_array_equal(data.reward[0], expected)
    np.testing.assert_array_equal(data.reward[1], expected)


def test_per_agent_wildcard_and_mixed_tokens() -> None:
    data = parse_dpomdp(model(UNIFORM + "R: b * : s1 : * : * : 3\nR: 0 d : s0 : * : * : 2\n"))
    np.testing.assert_array_equal(data.reward, [[0, 2, 0, 0], [0, 0, 3, 3]])


def test_accumulate_rule() -> None:
    body = UNIFORM + "R: a c : s0 : * : * : -1\n" + "R: a c : s0 : s1 : * : 10\n" * 2
    assert parse_dpomdp(model(body)).reward[0, 0] == 9  # -1 + 2 * (0.5 * 10)


def test_accumulate_with_joint_observation_row_and_matrix() -> None:
    body = UNIFORM + (
        "R: a c : s0 : s1 : x z : 8\n"  # + 0.5 * 0.25 * 8 = 1
        "R: a c : s1 : s1 :\n1 2 3 4\n"  # + 0.5 * 0.25 * 10 = 1.25
        "R: b d : s0 :\n1 1 1 1\n2 2 2 2\n"  # + 0.5 * 1 + 0.5 * 2 = 1.5
    )
    r = parse_dpomdp(model(body)).reward
    assert r[0, 0] == 1 and r[1, 0] == 1.25 and r[0, 3] == 1.5


def test_reward_uses_t_as_it_stands_at_that_line() -> None:
    body = "R: a c : s0 : s1 : * : 10\n" + UNIFORM + "R: a d : s0 : s1 : * : 10\nT: * :\nidentity\n"
    r = parse_dpomdp(model(body)).reward
    assert r[0, 0] == 0  # written before T existed
    assert r[0, 1] == 5  # T was uniform then


def test_overwrite_erases_accumulation() -> None:
    body = UNIFORM + "R: a c : s0 : s1 : * : 10\nR: a c : s0 : * : * : -1\n"
    assert parse_dpomdp(model(body)).reward[0, 0] == -1


def test_t_row_form_o_uniform_and_single_entries() -> None:
    body = (
        "T: * :\nidentity\nT: a c : s0 :\n0.25 0.75\nT: b d : s1 : s0 : 0.5\nT: b d : s1 : s1 : 0.5\n"
        "O: * :\nuniform\nO: a c : s1 :\n0.1 0.2 0.3 0.4\n"
    )
    data = parse_dpomdp(model(body))
    t = dense_t(data)
    np.testing.assert_array_equal(t[0], [[0.25, 0.75], [0, 1]])
    np.testing.assert_array_equal(t[3], [[1, 0], [0.5, 0.5]])
    np.testing.assert_array_equal(data.observation[0, 1], [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_array_equal(data.observation[0, 0], [0.25] * 4)
    np.testing.assert_array_equal(data.observation[1], np.full((2, 4), 0.25))


def test_matrix_forms() -> None:
    body = "T: 2 :\n0.5 0.5\n0 1\nT: * :\n1 0\n0 1\nT: 1 :\n0 1\n1 0\nO: 0 :\n1 0 0 0\n0 0 0 1\nO: 1 1 :\nuniform\n"
    body += "O: a d :\nuniform\nO: b * :\nuniform\n"
    data = parse_dpomdp(model(body))
    t = dense_t(data)
    np.testing.assert_array_equal(t[1], [[0, 1], [1, 0]])
    np.testing.assert_array_equal(t[2], np.eye(2))
    np.testing.assert_array_equal(data.observation[0], [[1, 0, 0, 0], [0, 0, 0, 1]])


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("start exclude: s1", [0.5, 0, 0.5]),
        ("start exclude: s0", [0, 0.5, 0.5]),
        ("start include: s2 s0", [0.5, 0, 0.5]),
        ("start include: 1", [0, 1, 0]),
        ("start: s2", [0, 0, 1]),
        ("start: 1", [0, 1, 0]),
        ("start:\n0.25 0.25 0.5", [0.25, 0.25, 0.5]),
        ("start:\nuniform", [1 / 3] * 3),
    ],
)
def test_start_forms(start: str, expected: list[float]) -> None:
    data = parse_dpomdp(model(UNIFORM, states="s0 s1 s2", start=start))
    np.testing.assert_allclose(data.start, expected, rtol=0, atol=1e-15)


def test_lexical_details_accepted() -> None:
    text = model(
        "# comment\n\n   \nT:*:\n# between header and matrix\nuniform\nO: * :\n\tuniform  \n"
        "R:a c:s0:*:*:+20\nR: a c : s1 : * : * : -1.5E+1\nR: b d : s1 : * : * : .5\n"
    ).replace("discount: 0.9", "discount: 1")
    data = parse_dpomdp(text)
    assert data.discount == 1 and data.reward[0, 0] == 20 and data.reward[1, 0] == -15 and data.reward[1, 3] == 0.5
    crlf = parse_dpomdp(text.replace("\n", "\r\n"))
    np.testing.assert_array_equal(crlf.reward, data.reward)
    cr = parse_dpomdp(text.replace("\n", "\r"))
    np.testing.assert_array_equal(cr.reward, data.reward)


def test_one_agent_file_accepts_a_single_name() -> None:
    data = parse_dpomdp(model(UNIFORM + "R: b : s1 : * : * : 4\n", agents="1", actions="a b", observations="x y"))
    np.testing.assert_array_equal(data.reward, [[0, 0], [0, 4]])


def test_named_agents() -> None:
    data = parse_dpomdp(model(UNIFORM, agents="alice bob"))
    assert data.agent_names == ("alice", "bob")
