"""Helpers shared by the `.dpomdp` parser tests: shipped files, small hand-written files, rejections."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.sparse

from decdiff.errors import InputError
from decdiff.implementations.models.dpomdp_parser import (
    DpomdpData,
    bundled_dpomdp_path,
    load_dpomdp,
    parse_dpomdp,
)


@functools.cache
def bundled(name: str) -> DpomdpData:
    """Each shipped file parsed once per test session."""
    return load_dpomdp(bundled_dpomdp_path(name))


def dense_t(data: DpomdpData) -> np.ndarray:
    """T as a dense [JA, S, S] array."""
    return np.stack([m.toarray() if scipy.sparse.issparse(m) else m for m in data.transition])


def model(body: str, *, states: str = "s0 s1", start: str = "start:\nuniform", actions: str = "a b\nc d",
          observations: str = "x y\nz w", agents: str = "2") -> str:
    """A small MADP file: 2 agents with 2 actions and 2 observations each, then `body`."""
    return (
        f"agents: {agents}\ndiscount: 0.9\nvalues: reward\nstates: {states}\n{start}\n"
        f"actions:\n{actions}\nobservations:\n{observations}\n{body}"
    )


UNIFORM = "T: * :\nuniform\nO: * :\nuniform\n"


def sdms_model(body: str, start: str = 'start: "uniform"') -> str:
    """A small SDM'Studio-dialect file."""
    return (
        f'agents: 2\ndiscount: 1.0\nvalues: "reward"\nstates: "s0" "s1"\n{start}\n'
        f'actions:\n"a" "b"\n"c" "d"\nobservations:\n2\n2\n{body}'
    )


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

