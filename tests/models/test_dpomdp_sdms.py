"""Tests of the `.dpomdp` parser on SDM'Studio's quoted dialect, and its blank lines anywhere."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from dpomdp_cases import bundled, dense_t, reject, sdms_model

from decdiff.implementations.models.dpomdp_parser import DpomdpData, parse_dpomdp


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


# ----- blank lines: SDM'Studio's grammar skips them anywhere, MADP's only after a comment -------

# A small 2-agent model written the way SDM'Studio writes its example files (names quoted,
# `R: ja : s : r` rewards), with comment lines and blank lines between the sections, a blank
# line before the `values:` line that decides the dialect, blank and comment lines inside a
# matrix, a whitespace-only line and a final blank line.
SDMS_WITH_BLANK_LINES = """\
# A Dec-POMDP (.dpomdp) file for a two-state toy problem.
# Both agents must switch together to move the world.

agents: 2
discount: 0.95

values: "reward"
states: "left" "right"

start:
"uniform"

actions:
"stay" "switch"
"stay" "switch"

observations:
"see-left" "see-right"
"see-left" "see-right"

# The state flips when both agents switch.
T: "*" :
"identity"
T: "switch" "switch" :
0 1

# the row of "right"
1 0
 \t
# Each agent sees the state right with probability 0.8.
O: "*" : "left" :
0.64 0.16 0.16 0.04
O: "*" : "right" :
0.04 0.16 0.16 0.64

R: "*" : "*" : -1
R: "stay" "stay" : "left" : 2
R: "switch" "switch" : "right" : 5

"""


def without_blank_lines(text: str) -> str:
    """`text` without its blank (empty or whitespace-only) lines; comment lines are kept."""
    return "".join(line for line in text.splitlines(keepends=True) if line.strip())


def as_madp(text: str) -> str:
    """The MADP spelling of an SDM'Studio text: no quotes, 5-field `R: ja : s : * : * : r` rewards."""
    return re.sub(r"^(R:[^:\n]*:[^:\n]*): ([^:\n]*)$", r"\1: * : * : \2", text.replace('"', ""), flags=re.M)


def assert_same_model(a: DpomdpData, b: DpomdpData) -> None:
    """Same names, discount and tables, to the last bit."""
    assert (a.agent_names, a.state_names, a.action_names, a.observation_names, a.discount) == (
        b.agent_names, b.state_names, b.action_names, b.observation_names, b.discount
    )
    for x, y in [(a.start, b.start), (dense_t(a), dense_t(b)), (a.observation, b.observation), (a.reward, b.reward)]:
        np.testing.assert_array_equal(x, y)


def test_sdms_skips_blank_lines_anywhere() -> None:
    data = parse_dpomdp(SDMS_WITH_BLANK_LINES)
    compact = parse_dpomdp(without_blank_lines(SDMS_WITH_BLANK_LINES))
    assert data.dialect == compact.dialect == "sdms"
    assert_same_model(data, compact)
    np.testing.assert_array_equal(dense_t(data)[3], [[0, 1], [1, 0]])  # (switch, switch)
    np.testing.assert_array_equal(data.reward, [[2, -1, -1, -1], [-1, -1, -1, 5]])


@pytest.mark.parametrize(
    "variant",
    [
        lambda text: "\n \n" + text,  # blank lines before everything
        lambda text: text + "\n\t\n",  # more blank lines at the end
        lambda text: text.replace("\n\n", "\n\n\n"),  # runs of blank lines
        lambda text: text.replace("\n", "\r\n"),
        lambda text: text.replace("\n", "\r"),
    ],
    ids=["leading", "trailing", "runs", "crlf", "cr"],
)
def test_sdms_blank_line_variants(variant) -> None:
    assert_same_model(parse_dpomdp(variant(SDMS_WITH_BLANK_LINES)), parse_dpomdp(SDMS_WITH_BLANK_LINES))


def test_madp_counterpart_reads_the_same_without_blank_lines() -> None:
    madp = parse_dpomdp(as_madp(without_blank_lines(SDMS_WITH_BLANK_LINES)))
    assert madp.dialect == "madp"
    assert_same_model(madp, parse_dpomdp(SDMS_WITH_BLANK_LINES))


def test_madp_counterpart_refuses_the_blank_lines() -> None:
    text = as_madp(SDMS_WITH_BLANK_LINES)
    # line 3 follows a comment line (allowed, as in MADP); line 6 follows `discount: 0.95`
    assert text.splitlines()[4:6] == ["discount: 0.95", ""]
    reject(text, 6, "blank line not preceded by a comment line")


def test_madp_refuses_a_final_blank_line() -> None:
    text = as_madp(without_blank_lines(SDMS_WITH_BLANK_LINES)) + "\n"
    reject(text, text.count("\n"), "blank line not preceded by a comment line")
