"""The report section "SMACv2-like (JaxMARL SMAX)": Table 1 and Fig. 2(g.2) analogues (issue 10).

Data (`decdiff.implementations.smax`): per environment variant (race, sight range) the project's MAPPO is
trained (seed = the report's seed) and run to collect (local history, normalised state)
pairs; every Table 1 configuration is trained with every seed of ``seeds`` (seed k: the
training rollout has seed k, the held-out rollout seed k + HELD_OUT_OFFSET, the network
and its batches seed k).

* **Table 1** (docs/claims.md#experiments): columns vary one factor of the base
  configuration (width, training samples, history length, sight range, race). For
  ``psnr_samples`` joint samples (tau_{1:n}, s) drawn from the training split ("train") and
  from the held-out rollout ("test"), individual and composite diffusion run L = passes x n
  fixed-sigma steps from y0 ~ N(0, I) (`decdiff.report.composite.denoising_errors`, the
  sensor-grid Table 1's code), PSNR = 10 log10(MAX^2 / MSE) with MAX the data range of the
  normalised state (1 by construction, computed from the states). Each seed gives one PSNR
  difference (composite - individual); a column's verdict is its Student-t interval across
  seeds (`decdiff.report.seed_stats`), and "composite > individual in every column" is the
  check `decdiff.report.composite.table1_check` over every column and both splits.
* **Fig. 2(g.2)** on the zerg-like variant: ||D_phi|| against rank(J_+) with R_hat lines
  (`decdiff.report.smax_analysis`) for ``fig2_pairs`` held-out agent histories, with the history
  length ``fig2_history_length`` (its Table 1 denoiser of the first seed): an epsilon-local
  set needs more than |tau| + 1 distinct samples for a non-degenerate R_hat (docs/claims.md#theorem-6),
  and |tau| = 5 + 137 H grows with H.

There is no exact denoiser for SMAX: training records carry no Bayes MSE (None). The
paper's own SMACv2 numbers (docs/claims.md#experiments) are included for reference only, next to the
differences between SMAX and SMACv2 (`decdiff.implementations.smax.settings.DIFFERENCES_FROM_SMACV2`).
The JSON is deterministic for a seed and holds no timings; everything runs on the CPU with
one torch thread (as `decdiff.report.build` does; with MKL, batched LU solves of singular
matrices, which Newton's method meets on the augmented fixed-point map, were seen to fail
after the thread count had been changed from 1 back to 2 in one process). Importing this
module needs no jax; `smax_section_data` needs the extra ``decdiff[smax]`` and says so
(`InputError`) when it is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from decdiff.errors import InputError
from decdiff.implementations.dynamics.threads import intra_op_threads
from decdiff.implementations.smax import LABEL, require_smax
from decdiff.implementations.smax.settings import (
    DIFFERENCES_FROM_SMACV2,
    SCENARIO,
    EnvSettings,
    MappoConfig,
)
from decdiff.implementations.training import SIZE_FACTORS, TrainingConfig
from decdiff.properties.trained_reference import HELD_OUT_OFFSET
from decdiff.report.composite import denoising_errors, seed_difference, table1_check
from decdiff.report.data import rounded
from decdiff.report.deviations import FIG2_EPSILON_QUANTILES
from decdiff.report.figures import table1_rows
from decdiff.report.training import summary
from decdiff.results import CheckResult
from decdiff.tolerances import CONFIDENCE_LEVEL

Progress = Callable[[str], None]

#: Table 1 factors: those of the training configuration and those of the environment.
ENV_FACTORS = ("sight_range", "race")


@dataclass(frozen=True)
class SmaxExperiments:
    """Sizes of the SMACv2-like section.

    Attributes:
        name, description: shown in the report.
        mappo: the behaviour policy's training (its seed is replaced by the report's seed).
        base_env: the base environment variant (zerg-like, sight range 9: the paper's default).
        base: the base denoiser training; ``samples`` counts joint samples (each gives one pair
            per agent) and ``history_length`` is H.
        table: Table 1 columns, (factor, values) with factor in SIZE_FACTORS + ENV_FACTORS.
        seeds: training seeds of every Table 1 configuration.
        rollout_envs, rollout_steps: environments and steps of one rollout chunk.
        psnr_samples: joint samples per Table 1 cell (train and test each) and seed.
        psnr_passes: denoising steps L = passes x agents, for both methods.
        fig2_history_length, fig2_pairs, fig2_anchors: Fig. 2(g.2)'s history length, held-out
            agent histories analysed, and anchors of the R_hat average.
    """

    name: str
    description: str
    mappo: MappoConfig
    base_env: EnvSettings
    base: TrainingConfig
    table: tuple[tuple[str, tuple], ...]
    seeds: tuple[int, ...]
    rollout_envs: int = 16
    rollout_steps: int = 200
    psnr_samples: int = 256
    psnr_passes: int = 4
    fig2_history_length: int = 1
    fig2_pairs: int = 1024
    fig2_anchors: int = 128

    def variant(self, factor: str, value: object, seed: int) -> tuple[EnvSettings, TrainingConfig]:
        """A Table 1 configuration: the base with one factor set to `value`, trained with `seed`."""
        env, config = self.base_env, replace(self.base, seed=int(seed))
        if factor in SIZE_FACTORS:
            return env, config.varied(factor, value)
        if factor == "sight_range":
            return replace(env, sight_range=float(value)), config
        if factor == "race":
            return replace(env, race=str(value)), config
        raise InputError(f"unknown Table 1 factor (known: {', '.join(SIZE_FACTORS + ENV_FACTORS)})",
                         field=factor)

    def to_json(self) -> dict[str, Any]:
        """Every field but the description (the section states it apart), in JSON types."""
        fields = {k: v for k, v in asdict(self).items() if k != "description"}
        return {**fields, "mappo": self.mappo.to_json(), "base_env": self.base_env.to_json(),
                "table": [[f, list(v)] for f, v in self.table], "seeds": list(self.seeds)}


#: CI smoke size: a barely trained MAPPO (16 updates), a few hundred joint samples, tiny networks.
SMAX_QUICK = SmaxExperiments(
    name="quick",
    description="smoke size: MAPPO for 65K environment steps, 400 joint samples per configuration, "
                "widths 32 and 64, two seeds",
    mappo=MappoConfig(total_steps=65_536),
    base_env=EnvSettings(race="zerg", sight_range=9.0),
    base=TrainingConfig(history_length=2, sigma=0.5, samples=400, epochs=30, width=64, depth=2, batch_size=256,
                        learning_rate=3e-3, patience=10, device="cpu", threads=1),
    table=(("width", (32, 64)), ("history_length", (1, 2))),
    seeds=(0, 1), rollout_envs=8, rollout_steps=100, psnr_samples=64, psnr_passes=2,
    fig2_history_length=1, fig2_pairs=160, fig2_anchors=16,
)

#: The paper's factors at CPU sizes: history 1/5/10, sight 5/9, three races, widths up to 1024,
#: up to 16K joint samples (80K agent histories), three seeds, MAPPO for 2M environment steps per variant.
SMAX_PAPER = SmaxExperiments(
    name="paper",
    description="the paper's factors at CPU sizes: widths 64-1024, 1K-16K joint samples, history lengths 1, 5 "
                "and 10, sight ranges 5 and 9, zerg-, terran- and protoss-like units, three seeds",
    mappo=MappoConfig(total_steps=2_000_000),
    base_env=EnvSettings(race="zerg", sight_range=9.0),
    base=TrainingConfig(history_length=5, sigma=0.5, samples=4000, epochs=60, width=256, depth=3, batch_size=512,
                        learning_rate=1e-3, patience=10, device="cpu", threads=1),
    table=(("width", (64, 256, 1024)), ("samples", (1000, 4000, 16000)), ("history_length", (1, 5, 10)),
           ("sight_range", (5.0, 9.0)), ("race", ("zerg", "terran", "protoss"))),
    seeds=(0, 1, 2),
)

SMAX_CONFIGS = {config.name: config for config in (SMAX_QUICK, SMAX_PAPER)}

#: The paper's Table 1 on SMACv2 (docs/claims.md#experiments), PSNR in dB, for reference only: its default is
#: width 8192, 100K samples, history 5, sight range 9, zerg. "10" is printed so (probably 10K).
PAPER_TABLE1 = {
    "source": "docs/claims.md#experiments (the paper's Table 1, SMACv2)",
    "columns": [["width", "1024"], ["width", "4096"], ["width", "8192"], ["samples", "10"], ["samples", "100K"],
                ["samples", "500K"], ["history_length", "1"], ["history_length", "5"], ["history_length", "10"],
                ["sight_range", "5"], ["sight_range", "9"], ["race", "zerg"], ["race", "terran"],
                ["race", "protoss"]],
    "train": {"individual": [13.28, 18.71, 28.20, 56.45, 28.20, 35.29, 26.39, 28.20, 31.86, 26.29, 28.20, 28.20,
                             29.01, 27.79],
              "composite": [15.98, 22.18, 30.77, 56.77, 30.77, 36.39, 27.88, 30.77, 33.13, 27.92, 30.77, 30.77,
                            30.68, 30.20]},
    "test": {"individual": [13.37, 15.37, 17.42, 11.32, 17.43, 23.22, 20.77, 17.43, 16.54, 15.94, 17.43, 17.42,
                            17.28, 17.24],
             "composite": [16.07, 18.49, 20.40, 12.38, 20.40, 25.49, 23.54, 20.40, 18.94, 17.90, 20.40, 20.40,
                           18.59, 20.08]},
}


def _agent_rows(pairs, index: np.ndarray) -> list[torch.Tensor]:
    """One ``[T, F]`` feature tensor per agent for the joint samples `index`."""
    return [torch.from_numpy(np.ascontiguousarray(pairs.features[index, j])) for j in range(pairs.features.shape[1])]


class _Section:
    """The section's experiments with every policy, rollout, denoiser and error computed once."""

    def __init__(self, config: SmaxExperiments, seed: int, cache_dir: Path, progress: Progress) -> None:
        from decdiff.implementations.smax import collect, denoisers, env

        self.collect, self.denoisers, self.env = collect, denoisers, env
        self.config, self.seed, self.cache_dir, self.progress = config, seed, Path(cache_dir), progress
        self.mappo = replace(config.mappo, seed=int(seed))
        self.trained: dict[tuple, tuple] = {}
        self.errors: dict[tuple, dict] = {}
        self.policies: dict[EnvSettings, dict] = {}
        self.rollouts_seen: set = set()

    def spec(self, env: EnvSettings, samples: int, seed: int):
        return self.collect.RolloutSpec.for_samples(env, self.mappo, samples, self.config.rollout_envs,
                                                    self.config.rollout_steps, seed)

    def rollout(self, spec):
        """The rollout of `spec` (read back from the cache after its first use: rollouts are not kept in memory)."""
        data, info = self.collect.cached_rollout(spec, self.cache_dir, progress=self.progress)
        if spec not in self.rollouts_seen:
            self.rollouts_seen.add(spec)
            self.policies.setdefault(spec.env, {"env": spec.env.to_json(), "label": spec.env.label,
                                                "mappo": info["policy"], "rollouts": []})
            self.policies[spec.env]["rollouts"].append({"seed": spec.seed, "rows": int(data.first.size),
                                                        **info["episodes"]})
        return data

    def pairs(self, env: EnvSettings, history_length: int, samples: int, seed: int):
        spec = self.spec(env, samples, seed)
        sim = self.env.smax_env(env)
        return self.collect.history_pairs(self.rollout(spec), history_length, sim.n_actions, samples), spec

    def held_out(self, env: EnvSettings, history_length: int, seed: int):
        """The held-out rollout's joint samples (one chunk) for history length H."""
        pool = self.config.rollout_envs * self.config.rollout_steps
        return self.pairs(env, history_length, pool, seed + HELD_OUT_OFFSET)[0]

    def denoiser(self, env: EnvSettings, config: TrainingConfig):
        """(network, training record, its training pairs); networks are kept, pairs rebuilt from the rollout."""
        pairs, spec = self.pairs(env, config.history_length, config.samples, config.seed)
        key = (env, config)
        if key not in self.trained:
            sim = self.env.smax_env(env)
            encoding = self.denoisers.smax_encoding(sim.n_agents, sim.obs_dim, sim.n_actions, config.history_length)
            self.progress(f"denoiser {env.label}: width {config.width}, H={config.history_length}, "
                          f"{config.samples} joint samples, seed {config.seed}")
            self.trained[key] = self.denoisers.cached_smax_denoiser(
                pairs, encoding, config, {"rollout": spec.settings(), "history_length": config.history_length,
                                          "samples": config.samples}, self.cache_dir, progress=False)
        return (*self.trained[key], pairs)

    def cell_errors(self, env: EnvSettings, config: TrainingConfig) -> dict[str, tuple]:
        """Individual and composite per-sample MSEs on train and test joint samples, and their states' range."""
        key = (env, config)
        if key not in self.errors:
            net, _, pairs = self.denoiser(env, config)
            train, _ = self.collect.split_episodes(pairs, config.validation_fraction, config.seed)
            test = self.held_out(env, config.history_length, config.seed)
            rng = np.random.default_rng(config.seed)

            def apply(batch: torch.Tensor, y: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
                return net.forward_features(batch, y, level).to(torch.float64)

            out, low, high = {}, np.inf, -np.inf
            for split, rows in (("train", train), ("test", test)):
                index = np.sort(rng.choice(len(rows), size=min(self.config.psnr_samples, len(rows)), replace=False))
                states = torch.from_numpy(rows.states[index]).to(torch.float64)
                low, high = min(low, float(states.min())), max(high, float(states.max()))
                out[split] = denoising_errors(apply, _agent_rows(rows, index), states, config.sigma,
                                              self.config.psnr_passes, config.seed)
            self.errors[key] = {**out, "range": (low, high)}
        return self.errors[key]

    # ----- Table 1 --------------------------------------------------------------------------------
    def table1(self) -> dict[str, Any]:
        columns = []
        low, high = np.inf, -np.inf
        for factor, values in self.config.table:
            for value in values:
                variants = [self.config.variant(factor, value, s) for s in self.config.seeds]
                cells = [self.cell_errors(env, config) for env, config in variants]
                low = min(low, *(c["range"][0] for c in cells))
                high = max(high, *(c["range"][1] for c in cells))
                columns.append({"factor": factor, "value": value,
                                "training": [summary(self.trained[v][1]) for v in variants],
                                "cells": cells})
        data_range = high - low
        for column in columns:
            cells = column.pop("cells")
            for split in ("train", "test"):
                column[split] = seed_difference([c[split] for c in cells], data_range)
        base_env, base = self.config.base_env, self.config.base
        subject = {"model": f"{LABEL} {SCENARIO}", "denoiser": "trained (every configuration and seed of this "
                   "section's Table 1)", "sigma": base.sigma, "history_length": base.history_length}
        check = table1_check(columns, subject, len(self.config.seeds), self.seed)
        return {"sigma": base.sigma, "seeds": list(self.config.seeds), "samples_per_cell": self.config.psnr_samples,
                "steps_per_agent_count": self.config.psnr_passes,
                "denoising_steps": self.config.psnr_passes * self.env.smax_env(base_env).n_agents,
                "data_range": rounded(data_range), "confidence": CONFIDENCE_LEVEL,
                "base": {"width": base.width, "samples": base.samples, "history_length": base.history_length,
                         "sight_range": base_env.sight_range, "race": base_env.race},
                "columns": columns, "every_column": check.to_json()["verdict"], "checks": [check.to_json()]}

    # ----- Fig. 2(g.2) -------------------------------------------------------------------------------
    def fig2(self) -> dict[str, Any]:
        from decdiff.report.smax_analysis import rank_deviation_data

        env, config = self.config.variant("history_length", self.config.fig2_history_length, self.config.seeds[0])
        net, record, _ = self.denoiser(env, config)
        held = self.held_out(env, config.history_length, config.seed)
        features, states = self.denoisers.agent_rows(held)
        rng = np.random.default_rng(config.seed)
        index = torch.from_numpy(np.sort(rng.choice(features.shape[0], size=min(self.config.fig2_pairs,
                                                                                  features.shape[0]), replace=False)))
        self.progress(f"Fig. 2(g.2): fixed points and Jacobian ranks of {index.numel()} held-out agent histories")
        panel = rank_deviation_data(net, features[index], states[index], config.sigma,
                                    quantiles=FIG2_EPSILON_QUANTILES, anchors=self.config.fig2_anchors,
                                    seed=config.seed)
        spearman = panel["spearman"]
        check = CheckResult.make(
            id="finding3.rank_deviation", claim="Finding 3",
            subject={"model": env.label, "denoiser": f"trained width {config.width}, seed {config.seed}",
                     "sigma": config.sigma, "history_length": config.history_length},
            assumptions={"rank_varies": len(set(panel["ranks"])) >= 2, "fixed_points_found": panel["converged"] >= 4},
            conclusion_holds={"holds": True, "violated": False, "inconclusive": None}[spearman["verdict"]],
            observed=spearman["rho"], bound=0.0, ci=None if spearman["ci"] is None else tuple(spearman["ci"]),
            n_cases=panel["converged"], seed=self.seed, tolerance={**panel["tolerances"], "confidence": CONFIDENCE_LEVEL},
            details={"observed_is": "Spearman rho(rank J_+, ||D||) on held-out agent histories; the paper expects "
                                    "rho < 0"})
        return {"env": env.to_json(), "label": env.label, "sigma": config.sigma,
                "training": {**{k: getattr(config, k) for k in ("width", "depth", "samples", "history_length",
                                                                  "seed")}, **summary(record)},
                **panel, "checks": [check.to_json()]}


def smax_section_data(config: SmaxExperiments, seed: int, cache_dir: Path,
                      progress: Progress = lambda _: None) -> dict[str, Any]:
    """The section's JSON (deterministic for a seed, no timings); policies, rollouts and denoisers are cached
    under `cache_dir`. Raises `InputError` when the ``decdiff[smax]`` extra is missing."""
    require_smax()
    section = _Section(config, seed, cache_dir, progress)
    with intra_op_threads(1):      # as the report: results independent of the core count (see the module docstring)
        table1 = section.table1()
        fig2 = section.fig2()
    return {"title": LABEL, "label": LABEL, "scenario": SCENARIO, "config": config.name,
            "description": config.description, "seed": seed, "settings": config.to_json(),
            "state": {"dim": section.env.smax_env(config.base_env).state_dim,
                      "normalisation": "per unit: health / max health, x / map width, y / map height, weapon "
                                       "cooldown / the type's cooldown, one-hot unit type; each in [0, 1]"},
            "behaviour_policies": [section.policies[env] for env in sorted(section.policies, key=repr)],
            "table1": table1, "fig2_g2": fig2, "paper_table1": PAPER_TABLE1,
            "differences_from_smacv2": list(DIFFERENCES_FROM_SMACV2), "checks": table1["checks"] + fig2["checks"]}


# ----- rendering ------------------------------------------------------------------------------------
def paper_reference_rows() -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the paper's own SMACv2 Table 1 (reference only)."""
    header = ["setting", "method"] + [f"{factor}={value}" + (" (so printed; 10K?)" if value == "10" and
                                                              factor == "samples" else "")
                                      for factor, value in PAPER_TABLE1["columns"]]
    rows = [[split, method] + [f"{v:.2f}" for v in PAPER_TABLE1[split][method]]
            for split in ("train", "test") for method in ("individual", "composite")]
    return header, rows


def smax_table_rows(data: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the SMACv2-like Table 1 (the sensor-grid Table 1's layout)."""
    return table1_rows(data["table1"])
