"""What a check runs on: model, denoiser, sigma, history length, seed, budget, and shared caches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np

from decdiff.errors import InputError
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.denoisers.protocol import Denoiser
from decdiff.implementations.model_facts import (
    joint_history_co,
    observations_factored,
    observations_own_action,
    per_step_co,
    reachable_joint_histories,
)
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.policies import Policy
from decdiff.implementations.sampling import sample_trajectories

#: Theorem 3's sufficient conditions on the model: (C1) each agent's observation is factored given the
#: state and depends on its own last action at most; (C2) per-step collective observability (the joint
#: observation determines the state at every step).
CO_CONDITIONS = ("observations_factored", "observations_own_action", "per_step_co")
#: Theorem 4's: (C1), and a single observation with no action-dependent step before it or a static state.
NON_CO_CONDITIONS = ("observations_factored", "observations_own_action", "history_length_1_or_static")


@dataclass(frozen=True)
class Budget:
    """How much work a check may do (each field's ``metadata["help"]`` says what it bounds)."""

    histories: int = field(default=64, metadata={
        "help": "joint histories examined (all reachable ones when there are at most this many)"})
    starts: int = field(default=256, metadata={"help": "starting points per flow or fixed-point search"})
    iterations: int = field(default=500, metadata={"help": "maximum iterations of a flow"})
    fixed_point_histories: int = field(default=16, metadata={
        "help": "distinct agent histories whose fixed points are searched in full (and joint histories whose "
                "fixed-point sets are intersected)"})
    fixed_point_work: int = field(default=2**18, metadata={
        "help": "cap on the searched work, the sum over those histories of consistent states x starts (at least "
                "one history is always searched)"})

    def non_default(self) -> dict[str, int]:
        """The fields that differ from the defaults (what a reproduce line must pass to `decdiff verify`)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}


@dataclass(frozen=True, eq=False)
class JointHistorySample:
    """Joint histories a check runs on.

    ``actions [B, t, n]``, ``observations [B, t(+1), n]``; ``true_states [B]`` when the
    histories were sampled (-1 when they were enumerated: then every state of the joint
    support is a possible true state); ``enumerated`` says which.
    """

    actions: np.ndarray
    observations: np.ndarray
    true_states: np.ndarray
    enumerated: bool

    def __len__(self) -> int:
        return int(self.actions.shape[0])


@dataclass
class CheckContext:
    """Everything a check needs, with the expensive shared pieces computed once."""

    model: DecPOMDP
    denoiser: Denoiser
    denoiser_label: str
    sigma: float
    history_length: int
    seed: int = 0
    policy: Policy | None = None
    budget: Budget = field(default_factory=Budget)
    #: Results that several checks share (e.g. fixed points of one history), keyed by their maker.
    shared: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.sigma > 0:
            raise InputError(f"must be positive, got {self.sigma}", field="sigma")
        self.model.history_shape(self.history_length)

    @cached_property
    def reference(self) -> ExactDenoiser:
        """The exact denoiser f* that trained and user denoisers are judged against."""
        return self.denoiser if isinstance(self.denoiser, ExactDenoiser) else ExactDenoiser(self.model, self.policy)

    @cached_property
    def joint_histories(self) -> JointHistorySample:
        """All reachable joint histories when few enough, else a seeded sample of them."""
        try:
            histories = reachable_joint_histories(self.model, self.history_length, limit=self.budget.histories)
            return JointHistorySample(histories.actions, histories.observations,
                                      np.full(len(histories.actions), -1), enumerated=True)
        except InputError:
            traj = sample_trajectories(self.model, self.history_length, self.budget.histories, seed=self.seed,
                                       policy=self.policy)
            return JointHistorySample(traj.actions, traj.observations, traj.states[:, -1], enumerated=False)

    @cached_property
    def facts(self) -> dict[str, bool]:
        """The model facts the claims' assumptions are made of (`CO_CONDITIONS`, `NON_CO_CONDITIONS` and more)."""
        return {
            "observations_factored": observations_factored(self.model),
            "observations_own_action": observations_own_action(self.model),
            "per_step_co": per_step_co(self.model),
            "joint_history_co": joint_history_co(self.model, self.history_length),
            "history_length_1_or_static": _single_observation_without_hidden_dynamics(self.model,
                                                                                       self.history_length)
            or _static(self.model),
        }

    def shared_assumption(self, name: str, make: Callable[[], bool]) -> bool:
        """An assumption several checks report, computed once per subject so that every check gives it one value."""
        key = ("assumption", name)
        if key not in self.shared:
            self.shared[key] = bool(make())
        return self.shared[key]

    def facts_of(self, *names: str) -> dict[str, bool]:
        """The model facts ``names``, in that order (a block of assumptions or details)."""
        return {name: self.facts[name] for name in names}

    def subject(self, **extra: object) -> dict[str, object]:
        return {"model": self.model.name, "denoiser": self.denoiser_label, "sigma": self.sigma,
                "history_length": self.history_length, **extra}

    def reproduce(self, check_id: str) -> str:
        """The `decdiff verify` command that re-runs `check_id` on this subject with this budget."""
        budget = "".join(f" --{name.replace('_', '-')} {value}" for name, value in self.budget.non_default().items())
        return (f"decdiff verify {self.model.name} --history-length {self.history_length} --sigma {self.sigma:g} "
                f"--denoiser {self.denoiser_label} --seed {self.seed}{budget} --check {check_id}")


def _single_observation_without_hidden_dynamics(model: DecPOMDP, history_length: int) -> bool:
    """Theorem 4's "history length 1": one observation, and no action-dependent step before it.

    Without an observation at t = 0 a length-1 history already contains one transition;
    if that transition depends on the others' (unobserved) actions, an agent's support
    includes states only another joint action reaches, and the support claim can fail.
    """
    if history_length != 1:
        return False
    return model.has_initial_observation or model.transition.action_independent


def _static(model: DecPOMDP) -> bool:
    """The state never changes: every transition matrix is the identity."""
    eye = np.eye(model.n_states)
    return all(np.array_equal(m.toarray() if hasattr(m, "toarray") else m, eye) for m in model.transition.matrices)
