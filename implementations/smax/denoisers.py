"""The paper's denoiser trained on SMACv2-like (local history, normalised state) pairs.

The network is the project's `MLPDenoiser` (docs/claims.md#experiments: a fully connected network on
[tau_i; y], shared by the agents), trained on Eq. (1) by the same loop as the tabular
denoisers (`decdiff.implementations.training.train_on_features`: Adam, cosine decay, early
stopping, seeded batching, fixed validation noise). Its `HistoryEncoding` has the sizes of
the SMAX layout (n agents, 127 observation numbers and 10 actions per slot, H slots), so
``encoding.dim`` is the feature width; its one-hot ``encode`` is not used (SMAX
observations are continuous and come encoded from `decdiff.implementations.smax.collect.history_pairs`).

Trained networks are cached (`decdiff.implementations.smax.cache`, kind ``denoisers``): parameters as arrays,
the training record as information, keyed by the data's settings and the training
configuration. Training runs on the CPU with the configuration's threads, so a cached
network equals a freshly trained one.

Training and validation pairs are split by episode (`split_episodes`), so consecutive,
correlated steps of one episode are never on both sides. Every agent of a joint sample
gives one pair (its history, the shared state). There is no exact denoiser for SMAX: the
record's ``bayes_mse`` is None (the Bayes MSE is unknown) and so is its MSE ratio.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from decdiff.implementations.denoisers.mlp import MLPDenoiser, make_denoiser
from decdiff.implementations.histories import HistoryEncoding
from decdiff.implementations.smax.cache import canonical, load_cached, save_cached
from decdiff.implementations.smax.collect import JointPairs, split_episodes
from decdiff.implementations.training import (
    TrainingConfig,
    TrainingRecord,
    train_on_features,
)


def smax_encoding(n_agents: int, obs_dim: int, n_actions: int, history_length: int) -> HistoryEncoding:
    """The feature layout [one-hot agent | H x (observation | one-hot action)] as a `HistoryEncoding`."""
    return HistoryEncoding(n_agents, obs_dim, n_actions, history_length)


def agent_rows(pairs: JointPairs) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features [N n, F], states [N n, d])``: one row per agent of every joint sample (sample-major)."""
    n = pairs.features.shape[1]
    features = torch.from_numpy(np.ascontiguousarray(pairs.features.reshape(-1, pairs.features.shape[-1])))
    states = torch.from_numpy(np.ascontiguousarray(np.repeat(pairs.states, n, axis=0)))
    return features, states


def train_smax_denoiser(pairs: JointPairs, encoding: HistoryEncoding, config: TrainingConfig, *,
                        progress: bool | None = None) -> tuple[MLPDenoiser, TrainingRecord]:
    """Train on the joint samples `pairs` (split by episode with ``config.validation_fraction`` and ``config.seed``)."""
    train, val = split_episodes(pairs, config.validation_fraction, config.seed)
    return train_on_features(encoding, config, train=agent_rows(train), val=agent_rows(val),
                             initial_observation=True, progress=progress)


def cached_smax_denoiser(pairs: JointPairs, encoding: HistoryEncoding, config: TrainingConfig,
                         data_settings: dict[str, Any], cache_dir, *,
                         progress: bool | None = None) -> tuple[MLPDenoiser, dict[str, Any]]:
    """`train_smax_denoiser`, or its cached result; returns the network and its record (JSON).

    ``data_settings`` must identify `pairs` (the rollout's settings and the history length).
    """
    settings = {"data": data_settings, "encoding": asdict(encoding), "training": asdict(config)}
    cached = load_cached(cache_dir, "denoisers", settings)
    if cached is not None:
        arrays, record = cached
        denoiser = make_denoiser(encoding, pairs.states.shape[1], sigma=config.sigma, initial_observation=True,
                                 width=config.width, depth=config.depth, activation=config.activation,
                                 noise_conditional=config.noise_conditional, dtype=config.dtype)
        denoiser.load_state_dict({name: torch.from_numpy(value) for name, value in arrays.items()})
        return denoiser.eval(), record
    denoiser, record = train_smax_denoiser(pairs, encoding, config, progress=progress)
    save_cached(cache_dir, "denoisers", settings,
                {name: value.detach().numpy() for name, value in denoiser.state_dict().items()}, record.to_json())
    return denoiser, canonical(record.to_json())
