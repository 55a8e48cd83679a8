"""Training the paper's denoiser on data sampled from a model (Eq. 1).

Data (docs/claims.md#experiments, "the training involves the histories of all agents and the
corresponding states"): `samples` trajectories of history length H under the behaviour
policy (`sample_trajectories`), every agent's history of each (`agent_histories`), and the
true last state s (its embedding in R^|s|). Each trajectory gives one training pair per
agent. Trajectories are split into training and validation sets before any pair is made,
so all agents of one trajectory are on the same side.

Objective, Eq. (1): MSE = E || s - f_theta(tau, y) ||^2 with y = s + sigma z, z ~ N(0, I)
(the squared norm summed over state dimensions, averaged over pairs). Fresh noise is
drawn every epoch; the validation noise is drawn once (seeded), so validation MSEs are
comparable across epochs and with the Bayes MSE of the exact denoiser f* = E[s | y, tau]
(Eq. 2) on the very same (tau, s, y), which is the smallest MSE any denoiser can reach.
The noise-conditional variant draws sigma log-uniformly from `sigma_range` per pair and
is validated at `sigma`.

Adam with cosine learning-rate decay, early stopping on validation MSE (the best weights
are kept), seeded (torch.manual_seed and numpy), a tqdm progress bar (disabled when
stderr is not a terminal or when ``CI`` is set), on the GPU when one is available.

Layers: `fit_denoiser` is the optimisation loop on feature/state tensors; `train_on_features`
builds the network, draws the fixed validation noise and runs the loop for any (features,
state) pairs, with an optional reference MSE on the validation set (the Bayes MSE here;
None where no exact denoiser exists, as for the SMACv2-like data of `decdiff.implementations.smax`);
`train_denoiser` samples the pairs of a tabular model and passes the exact denoiser's MSE.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from tqdm import tqdm

from decdiff.errors import InputError, require_positive_integers
from decdiff.implementations.denoisers.exact import ExactDenoiser
from decdiff.implementations.denoisers.mlp import MLPDenoiser, make_denoiser
from decdiff.implementations.dynamics.threads import intra_op_threads
from decdiff.implementations.histories import (
    HistoryBatch,
    HistoryEncoding,
    agent_histories,
)
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.policies import Policy
from decdiff.implementations.sampling import sample_trajectories

#: The training settings a Table 1 column varies (the sensor-grid and the SMACv2-like experiments alike).
SIZE_FACTORS = ("width", "samples", "history_length")


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that determines a training run (with the seed, it determines the result on one device).

    Attributes:
        history_length: H, observations per history.
        sigma: the training noise level (fixed-sigma) / the validation level (noise-conditional).
        samples: trajectories sampled; each gives one (history, state) pair per agent.
        epochs: maximum number of epochs.
        width, depth, activation, noise_conditional, dtype: the architecture (`mlp.Architecture`).
        batch_size, learning_rate, weight_decay: Adam's settings (cosine decay to 0 over `epochs`).
        validation_fraction: share of trajectories held out for validation.
        patience: epochs without a new best validation MSE before stopping.
        sigma_range: (low, high) of the log-uniform sigma of the noise-conditional variant.
        seed: seeds data, initialisation, noise and batching.
        device: ``"cpu"``, ``"cuda"`` or None (GPU if available).
        threads: torch CPU threads during the run (restored afterwards); None leaves torch's
            setting. Small networks train fastest on one thread.
    """

    history_length: int = 1
    sigma: float = 0.3
    samples: int = 2000
    epochs: int = 200
    width: int = 256
    depth: int = 3
    activation: str = "silu"
    noise_conditional: bool = False
    dtype: str = "float32"
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    validation_fraction: float = 0.2
    patience: int = 20
    sigma_range: tuple[float, float] = (0.05, 1.0)
    seed: int = 0
    device: str | None = None
    threads: int | None = None

    def varied(self, factor: str, value: object) -> TrainingConfig:
        """This configuration with one of the Table 1 size factors (`SIZE_FACTORS`) set to `value`."""
        if factor not in SIZE_FACTORS:
            raise InputError(f"not a size factor of the training (known: {', '.join(SIZE_FACTORS)})", field=factor)
        return replace(self, **{factor: int(value)})       # type: ignore[call-overload]

    def validate(self) -> None:
        require_positive_integers({name: getattr(self, name) for name in
                                   ("history_length", "samples", "epochs", "width", "depth", "batch_size", "patience")})
        if not (self.sigma > 0 and math.isfinite(self.sigma)):
            raise InputError(f"must be positive, got {self.sigma}", field="sigma")
        if not 0 < self.validation_fraction < 1:
            raise InputError(f"must lie in (0, 1), got {self.validation_fraction}", field="validation_fraction")
        if self.samples < 2:
            raise InputError("need at least 2 trajectories (one for validation)", field="samples")
        low, high = self.sigma_range
        if not 0 < low <= high:
            raise InputError(f"must satisfy 0 < low <= high, got {self.sigma_range}", field="sigma_range")


@dataclass
class TrainingRecord:
    """What a training run did.

    Attributes:
        epochs: epochs run (early stopping may end before `config.epochs`).
        best_epoch: epoch (1-based) whose weights were kept.
        train_mse: per-epoch mean training MSE (Eq. 1, fresh noise).
        val_mse: per-epoch validation MSE (fixed noise).
        best_val_mse: the kept weights' validation MSE.
        bayes_mse: MSE of the exact denoiser f* on the same validation (tau, s, y); None when
            there is no exact denoiser (the Bayes MSE is unknown).
        train_pairs, val_pairs: numbers of (history, state) pairs.
        seconds: wall-clock time of the run.
        device: where it ran.
    """

    epochs: int
    best_epoch: int
    train_mse: list[float]
    val_mse: list[float]
    best_val_mse: float
    bayes_mse: float | None
    train_pairs: int
    val_pairs: int
    seconds: float
    device: str
    config: dict = field(default_factory=dict)

    @property
    def mse_ratio(self) -> float | None:
        """best validation MSE / Bayes MSE (1 is the optimum); None when the Bayes MSE is unknown."""
        return None if self.bayes_mse is None else self.best_val_mse / self.bayes_mse

    def to_json(self) -> dict:
        return {**asdict(self), "mse_ratio": self.mse_ratio}


@dataclass(frozen=True, eq=False)
class PairData:
    """(history, state) pairs: ``histories`` (a `HistoryBatch`) and their ``states [N, |s|]`` (float64)."""

    histories: HistoryBatch
    states: torch.Tensor

    def __len__(self) -> int:
        return len(self.histories)


def sample_pairs(model: DecPOMDP, history_length: int, trajectories: int, *, seed: int,
                 policy: Policy | None = None) -> PairData:
    """Every agent's history (horizon H) and the true last state of `trajectories` sampled trajectories."""
    traj = sample_trajectories(model, history_length, trajectories, seed=seed, policy=policy)
    histories = agent_histories(model, traj, horizon=history_length)
    last = np.tile(traj.states[:, -1], model.n_agents)                     # agent-major, like the histories
    states = torch.from_numpy(np.ascontiguousarray(model.states[last], dtype=np.float64))
    return PairData(histories, states)


def split_pairs(data: PairData, n_agents: int, validation_fraction: float, seed: int) -> tuple[PairData, PairData]:
    """Split by trajectory: pairs are agent-major, so trajectory k owns rows k, k + B, k + 2B, ..."""
    trajectories = len(data) // n_agents
    order = np.random.default_rng(seed).permutation(trajectories)
    n_val = max(1, int(round(validation_fraction * trajectories)))
    pick = lambda rows: torch.from_numpy((rows[None, :] + trajectories * np.arange(n_agents)[:, None]).ravel())
    val, train = pick(np.sort(order[:n_val])), pick(np.sort(order[n_val:]))
    return (PairData(data.histories[train], data.states[train]), PairData(data.histories[val], data.states[val]))


def eq1_mse(prediction: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """Eq. (1): mean over rows of || s - f ||^2 (summed over state dimensions)."""
    return ((prediction - states) ** 2).sum(dim=1).mean()


def progress_disabled() -> bool:
    """No progress bar when stderr is not a terminal or in CI."""
    return bool(os.environ.get("CI")) or not sys.stderr.isatty()


def _draw_sigma(config: TrainingConfig, n: int, generator: torch.Generator, device: torch.device,
                dtype: torch.dtype) -> torch.Tensor:
    if not config.noise_conditional:
        return torch.full((n,), config.sigma, dtype=dtype, device=device)
    low, high = math.log(config.sigma_range[0]), math.log(config.sigma_range[1])
    u = torch.rand(n, generator=generator, dtype=torch.float64).to(device=device, dtype=dtype)
    return torch.exp(low + (high - low) * u)


def train_denoiser(model: DecPOMDP, config: TrainingConfig, *, policy: Policy | None = None,
                   progress: bool | None = None) -> tuple[MLPDenoiser, TrainingRecord]:
    """Train an `MLPDenoiser` on `model` (module docstring); returns it (on the CPU) and its record."""
    config.validate()
    model.history_shape(config.history_length)
    started = time.perf_counter()
    data = sample_pairs(model, config.history_length, config.samples, seed=config.seed, policy=policy)
    train, val = split_pairs(data, model.n_agents, config.validation_fraction, config.seed)
    exact = ExactDenoiser(model, policy)

    def bayes_mse(val_y: torch.Tensor, val_sigma: torch.Tensor) -> float:
        """The exact denoiser f*'s MSE on exactly these validation (tau, s, y)."""
        return float(eq1_mse(exact(val.histories, val_y, val_sigma), val.states))

    return train_on_features(HistoryEncoding.for_model(model, config.history_length), config,
                             train=(train.histories.features, train.states), val=(val.histories.features, val.states),
                             initial_observation=model.has_initial_observation, reference=bayes_mse,
                             progress=progress, started=started)


def validation_noise(states: torch.Tensor, sigma: float,
                     generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed validation inputs ``(y = s + sigma z [N, d], sigma [N])``, float64, drawn once from `generator`."""
    val_sigma = torch.full((states.shape[0],), sigma, dtype=torch.float64)
    val_y = states + sigma * torch.randn(states.shape, generator=generator, dtype=torch.float64)
    return val_y, val_sigma


def train_on_features(encoding: HistoryEncoding, config: TrainingConfig, *,
                      train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
                      initial_observation: bool,
                      reference: Callable[[torch.Tensor, torch.Tensor], float] | None = None,
                      progress: bool | None = None, started: float | None = None) -> tuple[MLPDenoiser, TrainingRecord]:
    """Train an `MLPDenoiser` on (features ``[N, |tau|]``, states ``[N, |s|]``) pairs, split into train and val.

    Seeds torch and numpy with ``config.seed``, builds the network for `encoding` (whose
    ``dim`` is the feature width), draws the fixed validation noise (`validation_noise`) and
    runs `fit_denoiser`. ``reference(val_y, val_sigma)`` gives the record's ``bayes_mse``
    (None without it). ``config.samples`` and ``config.history_length`` are not used here:
    the caller made the pairs.
    """
    config.validate()
    started = time.perf_counter() if started is None else started
    with intra_op_threads(config.threads) if config.threads is not None else nullcontext():
        torch.manual_seed(config.seed)
        np.random.seed(config.seed)
        device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        denoiser = make_denoiser(encoding, train[1].shape[1], sigma=config.sigma,
                                 initial_observation=initial_observation, width=config.width, depth=config.depth,
                                 activation=config.activation, noise_conditional=config.noise_conditional,
                                 dtype=config.dtype).to(device)
        generator = torch.Generator().manual_seed(config.seed)
        val_y, val_sigma = validation_noise(val[1], config.sigma, generator)
        reference_mse = None if reference is None else reference(val_y, val_sigma)
        fit = fit_denoiser(denoiser, train, (val[0], val_y, val_sigma, val[1]), config, generator,
                           reference_mse=reference_mse, progress=progress)
    denoiser = denoiser.to("cpu").eval()
    record = TrainingRecord(epochs=len(fit.val_mse), best_epoch=fit.best_epoch, train_mse=fit.train_mse,
                            val_mse=fit.val_mse, best_val_mse=fit.best_val_mse, bayes_mse=reference_mse,
                            train_pairs=int(train[1].shape[0]), val_pairs=int(val[1].shape[0]),
                            seconds=time.perf_counter() - started, device=str(device), config=asdict(config))
    return denoiser, record


@dataclass
class Fit:
    """What `fit_denoiser` did: per-epoch training and validation MSEs and the kept (best) epoch."""

    train_mse: list[float]
    val_mse: list[float]
    best_val_mse: float
    best_epoch: int


def fit_denoiser(denoiser: MLPDenoiser, train: tuple[torch.Tensor, torch.Tensor],
                 val: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], config: TrainingConfig,
                 generator: torch.Generator, *, reference_mse: float | None = None,
                 progress: bool | None = None) -> Fit:
    """The optimisation loop of Eq. (1): Adam, cosine decay over ``config.epochs``, early stopping.

    ``train = (features [N, |tau|], states [N, |s|])``; ``val = (features, y, sigma, states)``
    with fixed noise. Each epoch draws its batch order, noise and (noise-conditional) sigmas
    from `generator` (`_epoch`); the weights with the smallest validation MSE are loaded back
    into `denoiser` (on its device) at the end. ``reference_mse`` is only shown in the
    progress bar.
    """
    device, dtype = denoiser.device, denoiser.dtype
    val_x = (val[0].to(device, dtype), val[1].to(device, dtype), val[2].to(device, dtype))
    val_s = val[3].to(device, dtype)
    train_x = train[0].to(device, dtype)
    train_s = train[1].to(device, dtype)
    optimizer = torch.optim.Adam(denoiser.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    train_curve, val_curve = [], []
    best, best_epoch, best_state = math.inf, 0, None
    bar = tqdm(range(config.epochs), desc="train", unit="epoch",
               disable=progress_disabled() if progress is None else not progress)
    for epoch in bar:
        train_curve.append(_epoch(denoiser, optimizer, train_x, train_s, config, generator))
        scheduler.step()
        with torch.no_grad():
            val_mse = float(eq1_mse(denoiser.forward_features(*val_x), val_s))
        val_curve.append(val_mse)
        if val_mse < best:
            best, best_epoch = val_mse, epoch + 1
            best_state = {k: v.detach().clone() for k, v in denoiser.state_dict().items()}
        bar.set_postfix(loss=f"{train_curve[-1]:.4g}", val=f"{val_mse:.4g}", **({} if reference_mse is None else {"bayes": f"{reference_mse:.4g}"}))
        if epoch + 1 - best_epoch >= config.patience:
            break
    bar.close()
    denoiser.load_state_dict(best_state)
    return Fit(train_curve, val_curve, best, best_epoch)


def _epoch(denoiser: MLPDenoiser, optimizer: torch.optim.Optimizer, features: torch.Tensor, states: torch.Tensor,
           config: TrainingConfig, generator: torch.Generator) -> float:
    """One pass over shuffled minibatches with fresh noise y = s + sigma z (Eq. 1); the mean training MSE."""
    n, device, dtype = states.shape[0], states.device, states.dtype
    order = torch.randperm(n, generator=generator).to(device)
    noise = torch.randn(states.shape, generator=generator, dtype=torch.float64).to(device, dtype)
    sigma = _draw_sigma(config, n, generator, device, dtype)
    total = 0.0
    denoiser.train()
    for start in range(0, n, config.batch_size):
        rows = order[start:start + config.batch_size]
        y = states[rows] + sigma[rows, None] * noise[rows]
        loss = eq1_mse(denoiser.forward_features(features[rows], y, sigma[rows]), states[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * rows.numel()
    denoiser.eval()
    return total / n
