"""Hypothesis strategies for random tabular Dec-POMDPs (public: register your own families).

``model_specs()`` draws the structure of a small random model and ``models()`` the model
itself; the seed is drawn too, so shrinking moves towards small structures and seed 0.
"""

from __future__ import annotations

from hypothesis import strategies as st

from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.random_models import RandomModelSpec, random_model


@st.composite
def model_specs(draw: st.DrawFn, *, max_agents: int = 3, max_states: int = 4, max_actions: int = 2,
                max_observations: int = 3, **fixed: object) -> RandomModelSpec:
    """A `RandomModelSpec` with small sizes; keyword arguments pin any field."""
    values = {
        "agents": st.integers(1, max_agents),
        "states": st.integers(1, max_states),
        "actions": st.integers(1, max_actions),
        "observations": st.integers(1, max_observations),
        "factored": st.booleans(),
        "static": st.booleans(),
        "deterministic": st.booleans(),
        "action_transition": st.booleans(),
        "action_observation": st.booleans(),
        "initial_observation": st.booleans(),
        "sparsity": st.sampled_from([0.0, 0.3, 0.6]),
    }
    return RandomModelSpec(**{k: fixed[k] if k in fixed else draw(v) for k, v in values.items()})


@st.composite
def models(draw: st.DrawFn, **spec_options: object) -> DecPOMDP:
    """A random model: a spec from `model_specs(**spec_options)` and a seed."""
    spec = draw(model_specs(**spec_options))
    return random_model(spec, draw(st.integers(0, 2**16)))
