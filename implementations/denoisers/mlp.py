"""The paper's denoiser: a fully connected network on concat(history features, noisy state).

docs/claims.md#experiments: "a simple fully-connected network with tau_i and y as inputs and
denoised state as output", shared by all agents (the agent id is part of the history
encoding, §6.7), trained on Eq. (1),

    MSE(f_theta, sigma) = E_{tau, s, z} || s - f_theta(tau, s + sigma z) ||^2 .

Architecture (harness defaults of §5.6, each configurable):

    f(tau, y) = W_L a( ... a( W_1 [tau; y; (log sigma)] + b_1 ) ... ) + b_L

with `depth` hidden layers of `width` units and an element-wise activation `a`. The
first layer is affine in (tau, y), so Corollary 5.1's form f = g(a(W_tau tau + W_y y + b))
applies; `first_layer()` returns (W_tau, W_y, b).

Two variants:

* **fixed sigma** (noise-blind, the paper's f_theta): ``sigma`` is the training noise
  level and the sigma argument of a call is ignored;
* **noise-conditional**: log sigma is one more input and ``sigma`` is None.

The history enters through its float features (`HistoryBatch.features`), so
d f / d tau exists (Theorem 5 needs a continuous tau): `forward_features` takes the
features directly. Parameters are float32 by default; calls cast inputs to the network's
dtype and return float64 for comparison with the exact reference. `as_dtype(torch.float64)`
gives a float64 copy for analyses that need Newton-accurate fixed points.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from decdiff.errors import InputError
from decdiff.implementations.histories import HistoryBatch, HistoryEncoding

#: Activations by name; Theorem 5 needs a C^2 network, which `relu` is not.
ACTIVATIONS: dict[str, type[nn.Module]] = {"silu": nn.SiLU, "relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU,
                                           "softplus": nn.Softplus}

#: Activations with continuous second derivatives (Theorem 5's Taylor argument).
SMOOTH_ACTIVATIONS = frozenset({"silu", "tanh", "gelu", "softplus"})

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class Architecture:
    """What is needed to rebuild the network (stored in checkpoints).

    Attributes:
        feature_dim: |tau|, the width of the history features.
        state_dim: |s|.
        width: units per hidden layer (the paper sweeps 32..8192).
        depth: number of hidden layers.
        activation: a key of `ACTIVATIONS`.
        noise_conditional: log sigma is an input (else the network is noise-blind).
        dtype: ``"float32"`` or ``"float64"``.
    """

    feature_dim: int
    state_dim: int
    width: int = 256
    depth: int = 3
    activation: str = "silu"
    noise_conditional: bool = False
    dtype: str = "float32"

    def validate(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise InputError(f"unknown activation (known: {', '.join(ACTIVATIONS)})", field=self.activation)
        if self.dtype not in DTYPES:
            raise InputError(f"unknown dtype (known: {', '.join(DTYPES)})", field=self.dtype)
        for name in ("feature_dim", "state_dim", "width", "depth"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"must be a positive integer, got {getattr(self, name)}", field=name)


def build_network(arch: Architecture) -> nn.Sequential:
    """Linear(|tau| + |s| (+1), width) -> [a -> Linear(width, width)] x (depth - 1) -> a -> Linear(width, |s|)."""
    inputs = arch.feature_dim + arch.state_dim + int(arch.noise_conditional)
    layers: list[nn.Module] = [nn.Linear(inputs, arch.width), ACTIVATIONS[arch.activation]()]
    for _ in range(arch.depth - 1):
        layers += [nn.Linear(arch.width, arch.width), ACTIVATIONS[arch.activation]()]
    layers.append(nn.Linear(arch.width, arch.state_dim))
    return nn.Sequential(*layers).to(DTYPES[arch.dtype])


class MLPDenoiser(nn.Module):
    """f_theta(tau, y) (docs/claims.md#experiments), implementing the `Denoiser` protocol.

    Attributes:
        architecture: the `Architecture`.
        encoding: the `HistoryEncoding` the network was built for (its feature layout).
        initial_observation: whether the model has an observation at t = 0 (to re-encode
            shorter histories).
        sigma: the training noise level for the noise-blind variant, None for the
            noise-conditional one (the protocol's attribute).
        capabilities: what the checks may assume (see `decdiff.checking.registry`).
    """

    capabilities = frozenset({"trained", "continuous_history", "differentiable"})

    def __init__(self, architecture: Architecture, encoding: HistoryEncoding, *, sigma: float | None,
                 initial_observation: bool) -> None:
        super().__init__()
        architecture.validate()
        if architecture.feature_dim != encoding.dim:
            raise InputError(f"feature_dim {architecture.feature_dim} does not match the encoding's {encoding.dim}",
                             field="feature_dim")
        if not architecture.noise_conditional and not (sigma is not None and sigma > 0):
            raise InputError("a noise-blind denoiser needs its positive training sigma", field="sigma")
        self.architecture = architecture
        self.encoding = encoding
        self.initial_observation = bool(initial_observation)
        self.sigma = None if architecture.noise_conditional else float(sigma)
        self.net = build_network(architecture)

    # ----- properties ---------------------------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        return self.net[0].weight.dtype

    @property
    def device(self) -> torch.device:
        return self.net[0].weight.device

    @property
    def smooth(self) -> bool:
        """Whether the network is C^2 in its inputs (Theorem 5's assumption)."""
        return self.architecture.activation in SMOOTH_ACTIVATIONS

    def as_dtype(self, dtype: torch.dtype) -> MLPDenoiser:
        """A copy with parameters in `dtype` (on the CPU), e.g. float64 for Newton-accurate fixed points."""
        clone = copy.deepcopy(self).to(device="cpu", dtype=dtype)
        clone.architecture = Architecture(**{**asdict(self.architecture),
                                             "dtype": {v: k for k, v in DTYPES.items()}[dtype]})
        return clone

    def first_layer(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(W_tau [h, |tau|], W_y [h, |s|], b [h]) of the first affine layer (Corollary 5.1)."""
        weight, bias = self.net[0].weight, self.net[0].bias
        f, d = self.architecture.feature_dim, self.architecture.state_dim
        return weight[:, :f], weight[:, f:f + d], bias

    # ----- evaluation ---------------------------------------------------------------------------
    def forward_features(self, features: torch.Tensor, y: torch.Tensor,
                         sigma: float | torch.Tensor | None = None) -> torch.Tensor:
        """f(tau, y) on float features ``[B, |tau|]`` and ``y [B, |s|]``, in the network's dtype.

        ``sigma`` (a scalar or ``[B]``) is used by the noise-conditional variant only.
        Differentiable in both `features` and `y` (usable under ``torch.func``).
        """
        dtype, device = self.dtype, self.device
        parts = [features.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)]
        if self.architecture.noise_conditional:
            if sigma is None:
                raise InputError("a noise-conditional denoiser needs sigma", field="sigma")
            level = torch.as_tensor(sigma, dtype=dtype, device=device)
            level = level.expand(y.shape[0]) if level.ndim == 0 else level
            parts.append(torch.log(level)[:, None])
        return self.net(torch.cat(parts, dim=1))

    def features_of(self, histories: HistoryBatch) -> torch.Tensor:
        """The batch's features in this network's encoding (shorter histories are re-encoded, zero-padded)."""
        theirs = histories.encoding
        if theirs == self.encoding:
            return histories.features
        same_sizes = (theirs.n_agents, theirs.max_observations, theirs.max_actions) == \
            (self.encoding.n_agents, self.encoding.max_observations, self.encoding.max_actions)
        if not same_sizes:
            raise InputError(f"history encoding {theirs} does not match the network's {self.encoding}",
                             field="encoding")
        if theirs.horizon > self.encoding.horizon:
            raise InputError(f"histories of length {theirs.horizon} given to a network trained on length "
                             f"{self.encoding.horizon}", field="history_length")
        features = self.encoding.encode(histories.agents.numpy(), histories.actions.numpy(),
                                        histories.observations.numpy(), histories.lengths.numpy(),
                                        self.initial_observation)
        return torch.from_numpy(np.ascontiguousarray(features))

    def forward(self, histories: HistoryBatch, y: torch.Tensor,
                sigma: float | torch.Tensor | None = None) -> torch.Tensor:
        """The `Denoiser` protocol: ``[B, |s|]`` float64 estimates of the clean state."""
        return self.forward_features(self.features_of(histories), y, sigma).to(device="cpu", dtype=torch.float64)

    def describe(self) -> str:
        a = self.architecture
        kind = "noise-conditional" if a.noise_conditional else f"fixed sigma={self.sigma:g}"
        return f"MLP width {a.width} depth {a.depth} {a.activation} {a.dtype} ({kind})"


def make_denoiser(encoding: HistoryEncoding, state_dim: int, *, sigma: float | None, initial_observation: bool,
                  width: int = 256, depth: int = 3, activation: str = "silu", noise_conditional: bool = False,
                  dtype: str = "float32") -> MLPDenoiser:
    """An untrained `MLPDenoiser` for a model's encoding (PyTorch's default initialisation)."""
    arch = Architecture(feature_dim=encoding.dim, state_dim=state_dim, width=width, depth=depth,
                        activation=activation, noise_conditional=noise_conditional, dtype=dtype)
    return MLPDenoiser(arch, encoding, sigma=None if noise_conditional else sigma,
                       initial_observation=initial_observation)
