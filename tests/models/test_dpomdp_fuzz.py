"""Fuzzing the `.dpomdp` parser: mutated benchmark files parse to valid models or raise InputError."""

from __future__ import annotations

import functools
import re

import numpy as np
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decdiff.errors import InputError
from decdiff.implementations.models.dpomdp_parser import (
    DpomdpData,
    bundled_dpomdp_path,
    parse_dpomdp,
)
from decdiff.tolerances import PROBABILITY_SUM

FILES = ("dectiger", "broadcastChannel", "recycling", "relay4", "2generals", "prisoners", "sdms_mabc")
SPECIAL_TOKENS = ("*", '"*"', "uniform", "identity", "nan", "inf", "-0", ":", "T:", "R:", "#", '"', "1e999", "start")
JUNK = st.text(alphabet=" \t:#*\"\r\n\x00\x0cé0123456789.-+eTOR", min_size=1, max_size=6)
NUMBERS = st.one_of(
    st.integers(min_value=-3, max_value=100_000).map(str),
    st.floats(min_value=-2, max_value=2, allow_nan=False).map(repr),
)
IDENTIFIERS = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True)


@functools.cache
def source_text(name: str) -> str:
    """A benchmark file's text."""
    return bundled_dpomdp_path(name).read_text()


def tokens_of(line: str) -> list[str]:
    """A line split into tokens and the whitespace between them (joining gives the line back)."""
    return re.split(r"(\s+|:)", line)


@st.composite
def mutate(draw: st.DrawFn, text: str) -> str:
    """Apply one random mutation to `text`."""
    lines = text.split("\n")
    index = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(
        ["delete", "duplicate", "swap", "token", "truncate", "junk", "final-newline", "probability"]
    ))
    if kind == "delete":
        del lines[index]
    elif kind == "duplicate":
        lines.insert(index, lines[index])
    elif kind == "swap":
        other = draw(st.integers(0, len(lines) - 1))
        lines[index], lines[other] = lines[other], lines[index]
    elif kind in ("token", "probability"):
        parts = tokens_of(lines[index])
        slots = [i for i, part in enumerate(parts) if part.strip() and part != ":"]
        if kind == "probability":
            slots = [i for i in slots if re.fullmatch(r"[-+.0-9eE]+", parts[i])]
        if slots:
            slot = draw(st.sampled_from(slots))
            if kind == "probability":
                parts[slot] = draw(NUMBERS)
            else:
                every_token = [t for t in tokens_of(text) if t.strip() and t != ":"]
                parts[slot] = draw(st.one_of(
                    st.sampled_from(every_token), NUMBERS, IDENTIFIERS, st.sampled_from(SPECIAL_TOKENS)
                ))
            lines[index] = "".join(parts)
    elif kind == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    elif kind == "junk":
        position = draw(st.integers(0, len(text)))
        return text[:position] + draw(JUNK) + text[position:]
    else:
        return text.rstrip("\n")
    return "\n".join(lines)


@st.composite
def mutated_file(draw: st.DrawFn) -> str:
    """A benchmark file after one to three random mutations."""
    text = source_text(draw(st.sampled_from(FILES)))
    for _ in range(draw(st.integers(1, 3))):
        text = draw(mutate(text))
    return text


def assert_valid(data: DpomdpData) -> None:
    """Every T row, O row and the start vector is a probability distribution."""
    for matrix in data.transition:
        values = matrix.data if scipy.sparse.issparse(matrix) else matrix
        assert values.size == 0 or values.min() >= 0
        assert np.abs(np.asarray(matrix.sum(axis=1)) - 1).max() <= PROBABILITY_SUM
    assert data.observation.min() >= 0
    assert np.abs(data.observation.sum(axis=2) - 1).max() <= PROBABILITY_SUM
    assert data.start.min() >= 0 and abs(data.start.sum() - 1) <= PROBABILITY_SUM
    assert np.isfinite(data.reward).all()
    assert data.reward.shape == (len(data.state_names), len(data.transition))


def test_unmutated_files_parse() -> None:
    for name in FILES:
        assert_valid(parse_dpomdp(source_text(name)))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_file())
def test_mutated_files_parse_or_raise_input_error(text: str) -> None:
    try:
        data = parse_dpomdp(text, source="mutated.dpomdp")
    except InputError as error:
        message = str(error)
        assert "\n" not in message and "\r" not in message
        assert message.startswith("mutated.dpomdp")
        assert error.line is None or error.line >= 1
    else:
        assert_valid(data)
