"""decdiff: a verification harness for diffusion denoisers on Dec-POMDPs.

Public API re-exports. See `shared/spec/DESIGN.md` for the contracts.
"""

from decdiff.errors import InputError
from decdiff.implementations.histories import HistoryBatch, agent_histories, history_batch
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.models.random_models import RandomModelSpec, random_model
from decdiff.implementations.models.registry import load_model
from decdiff.implementations.policies import HistoryPolicy, StationaryPolicy
from decdiff.implementations.sampling import Trajectories, sample_trajectories
from decdiff.registry import check_denoiser

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
