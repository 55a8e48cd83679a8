"""Tests of the `.dpomdp` parser's refusals: each one a one-line InputError naming its line."""

from __future__ import annotations

import pytest
from dpomdp_cases import UNIFORM, model, reject, sdms_model

BASE = model(UNIFORM)  # lines 1-17; body lines start at 18
BASE_LINES = BASE.count("\n")


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
