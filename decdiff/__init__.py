"""decdiff: a verification harness for diffusion denoisers on Dec-POMDPs.

Public API re-exports. The layout and the contracts: ARCHITECTURE.md.
"""

from decdiff.checking.registry import check_denoiser
from decdiff.errors import InputError
from decdiff.implementations.histories import (
    HistoryBatch,
    agent_histories,
    history_batch,
)
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.random_models import RandomModelSpec, random_model
from decdiff.implementations.models.registry import load_model
from decdiff.implementations.policies import HistoryPolicy, StationaryPolicy
from decdiff.implementations.sampling import Trajectories, sample_trajectories

__all__ = [
    "DecPOMDP",
    "HistoryBatch",
    "HistoryPolicy",
    "InputError",
    "RandomModelSpec",
    "StationaryPolicy",
    "Trajectories",
    "agent_histories",
    "check_denoiser",
    "history_batch",
    "load_model",
    "random_model",
    "sample_trajectories",
]
__version__ = "0.1.0"
