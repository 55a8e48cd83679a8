"""Tests of the `.dpomdp` parser: every shipped file, hand-computed cases, dialects, rejections."""

from __future__ import annotations

import functools
import itertools
import re

import numpy as np
import pytest
import scipy.sparse

from decdiff.errors import InputError
from decdiff.implementations.models.dpomdp_parser import (
    DpomdpData,
    bundled_dpomdp_names,
    bundled_dpomdp_path,
    load_dpomdp,
    parse_dpomdp,
)

# Transcribed from FORMAT.md section 9: n, |S|, |A_i|, |Omega_i|, discount, start support,
# R range (min, max) over MADP's R(s, ja), dialect.
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


@functools.cache
def bundled(name: str) -> DpomdpData:
    """Each shipped file parsed once per test session."""
    return load_dpomdp(bundled_dpomdp_path(name))


def dense_t(data: DpomdpData) -> np.ndarray:
    """T as a dense [JA, S, S] array."""
    return np.stack([m.toarray() if scipy.sparse.issparse(m) else m for m in data.transition])


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


def model(body: str, *, states: str = "s0 s1", start: str = "start:\nuniform", actions: str = "a b\nc d",
          observations: str = "x y\nz w", agents: str = "2") -> str:
    """A small MADP file: 2 agents with 2 actions and 2 observations each, then `body`."""
    return (
        f"agents: {agents}\ndiscount: 0.9\nvalues: reward\nstates: {states}\n{start}\n"
        f"actions:\n{actions}\nobservations:\n{observations}\n{body}"
    )


UNIFORM = "T: * :\nuniform\nO: * :\nuniform\n"


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


# ----- dialects -----------------------------------------------------------------------


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


def sdms_model(body: str, start: str = 'start: "uniform"') -> str:
    """A small SDM'Studio-dialect file."""
    return (
        f'agents: 2\ndiscount: 1.0\nvalues: "reward"\nstates: "s0" "s1"\n{start}\n'
        f'actions:\n"a" "b"\n"c" "d"\nobservations:\n2\n2\n{body}'
    )


def test_sdms_inline_forms() -> None:
    body = 'T: "*" :\n"identity"\nO: "*" : "*" : "*" : 0.25\nR: "*" : "s1" : 3\nR: "a" "d" : 0 : -1\n'
    data = parse_dpomdp(sdms_model(body))
    assert data.dialect == "sdms"
    np.testing.assert_array_equal(data.start, [0.5, 0.5])
    np.testing.assert_array_equal(data.reward, [[0, -1, 0, 0], [3, 3, 3, 3]])
    assert parse_dpomdp(sdms_model(body, start='start:\n"uniform"')).start[1] == 0.5


# ----- rejections ---------------------------------------------------------------------

BASE = model(UNIFORM)  # lines 1-17; body lines start at 18
BASE_LINES = BASE.count("\n")


def reject(text: str, line: int, *fragments: str) -> InputError:
    """Parse `text`, expect an InputError at `line` whose one-line message has `fragments`."""
    with pytest.raises(InputError) as info:
        parse_dpomdp(text, source="inline.dpomdp")
    error = info.value
    message = str(error)
    assert error.line == line, message
    assert "\n" not in message and "\r" not in message
    assert message.startswith(f"inline.dpomdp:{line}:"), message
    for fragment in fragments:
        assert fragment in message, message
    return error


@pytest.mark.parametrize(
    ("body", "line_offset", "fragments"),
    [
        ("T: a c : s0 : s1 0.5\n", 1, ("malformed T entry",)),
        ("R: a c : s0 : * : * -1\n", 1, ("malformed R entry",)),
        ("R: a c : s0 : -1\n", 1, ("SDM'Studio short form",)),
        ("O: a c : s0\n", 1, ("malformed O entry",)),
        ("X: 1\n", 1, ("expected a 'T:', 'O:' or 'R:' entry",)),
        ("T: a c : s9 : s1 : 0.5\n", 1, ("unknown state 's9'",)),
        ("T: a q : s0 : s1 : 0.5\n", 1, ("unknown action of agent 2 'q'",)),
        ("O: a c : s0 : x q : 0.5\n", 1, ("unknown observation of agent 2 'q'",)),
        ("T: 0 2 : s0 : s1 : 0.5\n", 1, ("action of agent 2 index 2 out of range",)),
        ("T: 4 : s0 : s1 : 0.5\n", 1, ("joint action index 4 out of range",)),
        ("T: * : 2 : s1 : 0.5\n", 1, ("state index 2 out of range",)),
        ("O: * : * : 4 : 0.5\n", 1, ("joint observation index 4 out of range",)),
        ("T: a c a : s0 : s1 : 0.5\n", 1, ("3 per-agent tokens, expected 2",)),
        ("T: a : s0 : s1 : 0.5\n", 1, ("one token per agent",)),
        ("T: a c : s0 s1 : s1 : 0.5\n", 1, ("expected one state",)),
        ("T: a c : s0 :\n0.5 0.25 0.25\n", 2, ("row has 3 numbers, expected 2",)),
        ("O: a c : s0 :\n0.5 0.5\n", 2, ("row has 2 numbers, expected 4",)),
        ("T: a c :\n1 0\n", 2, ("needs 2 row(s)", "found 1")),
        ("T: a c :\n1 0\n0 1\n0 1\n", 4, ("unexpected row of numbers",)),
        ("T: a c : s0 :\nuniform\n", 2, ("'uniform' cannot follow 'T: <ja> : <s> :'",)),
        ("O: a c :\nidentity\n", 2, ("'identity' cannot follow 'O: <ja> :'",)),
        ("T: a c : s0 : s1 : nan\n", 1, ("expected a number for the probability, found 'nan'",)),
        ("T: a c : s0 :\ninf 0\n", 2, ("NaN and infinity are not allowed",)),
        ("T: a c : s0 : s1 : 1e999\n", 1, ("overflows",)),
        ("R: a c : s0 : * : * : -1 # note\n", 1, ("comment after data",)),
        ("R: a c : s0 : * : * : -1\n\n", 2, ("blank line",)),
        ('R: "a" c : s0 : * : * : -1\n', 1, ("quote",)),
        ("T: a c : s0 : s1 : 0.9\n", 1, ("T(. | s=s0, ja=(a, c))", "sums to 1.4")),
        ("O: b d : s1 : x z : 0.5\n", 1, ("O(. | ja=(b, d), s'=s1)", "sums to 1.25")),
        ("T: b c : s1 :\n1.5 -0.5\n", 1, ("T(. | s=s1, ja=(b, c))", "negative entry -0.5")),
        ("R: a c : s0 : * : * : -1", 1, ("missing newline",)),
    ],
)
def test_body_rejections(body: str, line_offset: int, fragments: tuple[str, ...]) -> None:
    reject(BASE + body, BASE_LINES + line_offset, *fragments)


def test_t_row_error_blames_the_last_writer() -> None:
    body = "T: a c : s0 :\n0.5 0.5\nO: a c : s0 : x z : 0.25\nT: a c : s0 : s1 : 0.6\n"
    reject(BASE + body, BASE_LINES + 4, "T(. | s=s0, ja=(a, c))", "sums to 1.1")


def test_never_written_rows() -> None:
    text = model("O: * :\nuniform\n")
    reject(text, text.count("\n"), "T(. | s=s0, ja=(a, c))", "sums to 0")
    text = model("T: * :\nuniform\nO: a * :\nuniform\n")
    reject(text, 15, "O(. | ja=(b, c), s'=s0)", "sums to 0")  # the first O entry


@pytest.mark.parametrize(
    ("text", "line", "fragments"),
    [
        (model(UNIFORM).replace("values: reward", "values: cost"), 3, ("values: cost' is not supported",)),
        (model(UNIFORM).replace("discount: 0.9\nvalues: reward", "values: reward\ndiscount: 0.9"), 2,
         ("expected 'discount: <real>'", "preamble order")),
        (model(UNIFORM).replace("discount: 0.9", "discount: 1.5"), 2, ("discount must be in [0, 1]",)),
        (model(UNIFORM, start="start:\n0.3 0.3"), 6, ("start vector sums to 0.6",)),
        (model(UNIFORM, start="start:\n1.5 -0.5"), 6, ("negative entry -0.5",)),
        (model(UNIFORM, start="start:\n0 0"), 6, ("sums to 0",)),
        (model(UNIFORM, start="start:\n0.5 0.25 0.25"), 6, ("row has 3 numbers, expected 2",)),
        (model(UNIFORM, start="start: uniform"), 5, ("unknown state 'uniform'",)),
        (model(UNIFORM, start="start: 0.5 0.5"), 5, ("takes one state",)),
        (model(UNIFORM, start="start include:\ns0"), 5, ("needs its states on the same line",)),
        (model(UNIFORM, start="start exclude: s0 s1"), 5, ("excludes every state",)),
        (model(UNIFORM, start="start include: s0 s0"), 5, ("listed twice",)),
        (model(UNIFORM, actions="a b\nc d\ne f"), 10, ("more lines under 'actions:' than agents (2)",)),
        (model(UNIFORM, actions="a b"), 9, ("expected 2 lines under 'actions:'", "found 1")),
        (model(UNIFORM, observations="x y\nz w\nu v"), 13, ("more lines under 'observations:' than agents",)),
        (model(UNIFORM, observations="x y"), 12, ("expected 2 lines under 'observations:'", "found 1")),
        (model(UNIFORM, actions="a b\nc 3"), 9, ("cannot be mixed",)),
        (model(UNIFORM, states="s0 s0"), 4, ("duplicate name 's0' in the state declaration",)),
        (model(UNIFORM, states="s0 T"), 4, ("reserved word",)),
        (model(UNIFORM, states="s0 1x"), 4, ("invalid name '1x' for state",)),
        (model(UNIFORM, states="0"), 4, ("between 1 and",)),
        ("\n" + model(UNIFORM), 1, ("blank line",)),
        ("", 1, ("unexpected end of file",)),
        (model(UNIFORM).replace("agents: 2", "agents: 2\x0c"), 1, ("unexpected character U+000C",)),
        (sdms_model("T: * :\n\"uniform\"\n"), 12, ("double-quoted",)),
        (sdms_model('T: "*" :\n"uniform"\nO: "*" :\n"uniform"\nR: "a" "d" : "x y" : 1\n'), 16, ("expected one state",)),
    ],
)
def test_preamble_and_lexical_rejections(text: str, line: int, fragments: tuple[str, ...]) -> None:
    reject(text, line, *fragments)


def test_errors_carry_source_and_field() -> None:
    error = reject(BASE + "T: a q : s0 : s1 : 0.5\n", BASE_LINES + 1)
    assert error.source == "inline.dpomdp" and error.field == "T"


@pytest.mark.timeout(10)
def test_pathological_lines_are_rejected_quickly() -> None:
    """Long malformed rows and names lines must not make the regular expressions backtrack."""
    row = "1111111111 " * 60 + "x"
    reject(model(UNIFORM, states="s0 s1", start=f"start:\n{row}"), 6, "expected a number, found 'x'")
    reject(model(UNIFORM, states="s0 " * 60 + "!"), 4, "invalid name '!'")
    reject(model(UNIFORM, observations="x y\nz w\n" + "ab" * 3000 + " !"), 13, "expected a 'T:'")
    reject(BASE + "T: " + "9" * 5000 + " : s0 : s1 : 1\n", BASE_LINES + 1, "joint action index 999")
