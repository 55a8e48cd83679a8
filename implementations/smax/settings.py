"""Settings of the SMACv2-like experiments (no jax here: the report imports them without the extra).

* `EnvSettings`: one environment variant (race, sight range, episode cap) of `decdiff.implementations.smax.env`;
* `MappoConfig`: the behaviour policy's training (`decdiff.implementations.smax.mappo`);
* `RACES`, `DIFFERENCES_FROM_SMACV2` and the normalised-state layout constants.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from decdiff.errors import InputError, require_positive_integers
from decdiff.implementations.smax import LABEL

#: The SMAX scenario (SMACv2-style random positions and unit types, 5 vs 5).
SCENARIO = "smacv2_5_units"

#: Unit-type indices of SMAX (marine, marauder, stalker, zealot, zergling, hydralisk) per race.
RACES: dict[str, tuple[int, ...]] = {"terran": (0, 1), "protoss": (2, 3), "zerg": (4, 5),
                                     "all": (0, 1, 2, 3, 4, 5)}

#: Features per unit in the normalised state.
UNIT_FEATURES = 10

#: Version of the normalised-state layout (part of every data cache key).
STATE_LAYOUT = 1

#: How these experiments differ from the paper's SMACv2 (stated next to every result).
DIFFERENCES_FROM_SMACV2 = (
    "dynamics: SMAX's simplified JAX simulator (point units with radii, straight-line moves, instant "
    "attacks with a random cooldown, units touching the map edge die) instead of StarCraft II's engine "
    "(pathing, projectiles, acceleration, terrain)",
    "unit types: two per race (terran-like marine and marauder, protoss-like stalker and zealot, zerg-like "
    "zergling and hydralisk) instead of SMACv2's three (no medivac, colossus or baneling), with SMAX's unit "
    "statistics; the enemy team mirrors the allied unit types",
    "enemy AI: SMAX's heuristic policy (attack the closest enemy in range, else move to just past the middle "
    "of the other half or follow a visible enemy) instead of StarCraft II's built-in AI",
    "episode cap: SMAX's max_steps environment steps (100 by default, 8 simulator steps each) instead of "
    "SMACv2's own episode limit",
    "observations and state: SMAX's unit-list observation (127 numbers) and world state (normalised here to "
    "100 numbers) instead of SMACv2's feature layout; sight range set for every unit type",
    "behaviour policy: this project's small feed-forward MAPPO trained for minutes on the CPU, not the "
    "paper's MAPPO (its hyper-parameters and win rate are unknown)",
)


@dataclass(frozen=True)
class EnvSettings:
    """One environment variant: race, sight range and episode cap."""

    race: str = "zerg"
    sight_range: float = 9.0
    max_steps: int = 100

    def validate(self) -> None:
        if self.race not in RACES:
            raise InputError(f"unknown race (known: {', '.join(RACES)})", field="race")
        if not (np.isfinite(self.sight_range) and self.sight_range > 0):
            raise InputError(f"must be positive, got {self.sight_range}", field="sight_range")
        if int(self.max_steps) < 1:
            raise InputError(f"must be a positive integer, got {self.max_steps}", field="max_steps")

    def to_json(self) -> dict[str, Any]:
        return {"scenario": SCENARIO, **asdict(self), "sight_range": float(self.sight_range)}

    @property
    def label(self) -> str:
        race = "all races" if self.race == "all" else f"{self.race}-like"
        return f"{LABEL} {SCENARIO}, {race}, sight range {self.sight_range:g}"


@dataclass(frozen=True)
class MappoConfig:
    """MAPPO's settings; ``total_steps`` counts environment steps (all environments together)."""

    total_steps: int = 1_000_000
    n_envs: int = 64
    rollout: int = 64
    epochs: int = 4
    minibatches: int = 4
    hidden: int = 64
    learning_rate: float = 1e-3
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip: float = 0.2
    entropy_coef: float = 0.01
    value_coef: float = 0.5
    max_grad_norm: float = 0.5
    seed: int = 0

    def validate(self) -> None:
        require_positive_integers({name: getattr(self, name) for name in
                                   ("total_steps", "n_envs", "rollout", "epochs", "minibatches", "hidden")})
        if (self.n_envs * self.rollout) % self.minibatches:
            raise InputError("n_envs x rollout must be divisible by minibatches", field="minibatches")

    @property
    def updates(self) -> int:
        return max(1, self.total_steps // (self.n_envs * self.rollout))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
