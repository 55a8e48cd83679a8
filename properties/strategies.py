"""Hypothesis strategies for check subjects: noise levels and (model, history length, sigma) (public).

Random tabular models come from `decdiff.implementations.models.strategies.models`; a
`Subject` adds what a check needs besides its denoiser. Users register their own model
families by passing any strategy of `DecPOMDP`s as ``models=``. Shrinking moves towards
small models, history length 1 and the smallest sigma in range.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.strategies import models as random_models


@dataclass(frozen=True)
class Subject:
    """What a check runs on besides the denoiser."""

    model: DecPOMDP
    history_length: int
    sigma: float


def sigmas(min_value: float = 0.05, max_value: float = 0.6) -> st.SearchStrategy[float]:
    """Noise levels in [min_value, max_value] (VE convention, y = s + sigma z)."""
    return st.floats(min_value=min_value, max_value=max_value, allow_nan=False, allow_infinity=False)


@st.composite
def subjects(draw: st.DrawFn, *, models: st.SearchStrategy[DecPOMDP] | None = None,
             history_lengths: st.SearchStrategy[int] | None = None,
             sigma: st.SearchStrategy[float] | None = None, **model_options: object) -> Subject:
    """A `Subject`: a model (`random_models(**model_options)` unless `models` is given), H and sigma."""
    model = draw(models if models is not None else random_models(**model_options))
    history_length = draw(history_lengths if history_lengths is not None else st.integers(1, 2))
    return Subject(model, history_length, draw(sigma if sigma is not None else sigmas()))
