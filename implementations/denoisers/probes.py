"""What a user's denoiser is like, found before any check runs: determinism, output dtype, ``sigma``.

`probe_denoiser` calls the denoiser twice on the same seeded batch (every agent's length-1
history of a few sampled trajectories, y = s + sigma z):

* the largest difference between the two outputs is its call-to-call noise. Above
  FIXED_POINT_DEVIATION_FRACTION x the state spacing (the deviation the fixed-point checks
  admit for a non-exact denoiser) no comparison can be decided, and it is bad input; below it
  the noise is kept (``denoiser.call_noise``, the largest difference, and ``call_noise_rms``, the
  RMS of one call's noise), printed, and added to the round-off tolerances of the reference
  checks (properties/reference.py, `decdiff.tolerances.noise_widening`);
* a float16 output carries a relative round-off of 2^-10 ~ 1e-3, which widens those tolerances
  accordingly; a missing ``sigma`` attribute makes the denoiser noise-conditional by default;
* a declared capability must come with what the checks that require it call
  (`CAPABILITY_INTERFACES`): otherwise it is bad input, one line, before any check runs;
* a torch module that returns float32 (or float16) and has no ``as_dtype`` gets a float64 copy,
  ``denoiser.float64_stand_in``, that the fixed-point analyses run on (Newton reaches the 1e-12
  residual only in float64), if the copy agrees with it on the probe batch
  (`decdiff.tolerances.FLOAT64_COPY_AGREEMENT`); the warning says which.

Each finding is one line in ``denoiser.warnings``, printed at the start of the run and noted
under the verdict table.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from decdiff.errors import InputError
from decdiff.implementations.denoisers.validation import USER_FAILURES, CheckedDenoiser
from decdiff.implementations.histories import agent_histories
from decdiff.implementations.models.decpomdp import DecPOMDP
from decdiff.implementations.sampling import sample_trajectories
from decdiff.tolerances import FIXED_POINT_DEVIATION_FRACTION, FLOAT64_COPY_AGREEMENT

#: Trajectories of the probe batch (each gives one history per agent).
PROBE_TRAJECTORIES = 4

#: What a denoiser declaring a capability must have: ``continuous_history`` lets the sampled-pair checks
#: (Theorems 5 and 6, Corollary 5.1, Finding 3) differentiate f(tau, y) in tau, through
#: ``forward_features(features [B, F], y [B, d], sigma [B])`` in the network's ``dtype``.
CAPABILITY_INTERFACES = {"continuous_history": ("forward_features", "dtype")}


def state_spacing(states: np.ndarray) -> float:
    """c: the smallest distance between two distinct states (inf for a single state)."""
    dist = torch.cdist(torch.as_tensor(states, dtype=torch.float64), torch.as_tensor(states, dtype=torch.float64))
    dist = dist[dist > 0]
    return float(dist.min()) if dist.numel() else float("inf")


def probe_denoiser(denoiser, model: DecPOMDP, sigma: float, name: str, seed: int = 0):
    """Call `denoiser` twice on one batch; keep ``call_noise`` and ``warnings`` on it (module docstring)."""
    for capability in sorted(set(getattr(denoiser, "capabilities", ())) & set(CAPABILITY_INTERFACES)):
        missing = [a for a in CAPABILITY_INTERFACES[capability] if getattr(denoiser, a, None) is None]
        if missing:
            raise InputError(f"declares the capability {capability!r} but lacks {', '.join(missing)}: the checks "
                             "that need it call forward_features(features, y, sigma) in the network's dtype, as an "
                             "MLPDenoiser does", source=name)
    traj = sample_trajectories(model, 1, PROBE_TRAJECTORIES, seed=seed)
    histories = agent_histories(model, traj, horizon=1)
    states = torch.from_numpy(np.ascontiguousarray(model.states[np.tile(traj.states[:, -1], model.n_agents)],
                                                   dtype=np.float64))
    y = states + sigma * torch.randn(states.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    sigmas = torch.full((y.shape[0],), sigma, dtype=torch.float64)
    with torch.no_grad():
        first, second = denoiser(histories, y, sigmas), denoiser(histories, y, sigmas)
    difference = first.to(torch.float64) - second.to(torch.float64)
    noise = float(difference.abs().max())
    spacing = state_spacing(model.states)
    limit = FIXED_POINT_DEVIATION_FRACTION * (spacing if np.isfinite(spacing) else 1.0)
    if noise > limit:
        raise InputError(f"returns outputs that differ by {noise:.3g} on the same batch called twice (more than "
                         f"{limit:.3g}, {FIXED_POINT_DEVIATION_FRACTION:g} x the state spacing): not checkable",
                         source=name)
    warnings = []
    if noise > 0:
        warnings.append(f"non-deterministic: outputs differ by up to {noise:.3g} on the same batch called twice; "
                        "reference tolerances widened by it, fixed-point searches may end inconclusive")
    if first.dtype == torch.float16:
        warnings.append("returns float16: relative round-off ~1e-3, so the reference checks only resolve "
                        "deviations above that")
    if not hasattr(getattr(denoiser, "denoiser", denoiser), "sigma"):      # the user's object, not its wrapper
        warnings.append("has no `sigma` attribute: treated as noise-conditional (sigma = None)")
    if first.dtype != torch.float64 and getattr(denoiser, "as_dtype", None) is None:
        stand_in, finding = float64_stand_in(denoiser, (histories, y, sigmas), first)
        denoiser.float64_stand_in = stand_in
        warnings.append(f"returns {str(first.dtype).removeprefix('torch.')}: {finding}")
    denoiser.call_noise = noise
    denoiser.output_eps = float(torch.finfo(first.dtype).eps)
    denoiser.call_noise_rms = float(difference.pow(2).mean().sqrt()) / np.sqrt(2.0)
    denoiser.warnings = tuple(f"{name}: {w}" for w in warnings)
    return denoiser


def float64_stand_in(denoiser, batch: tuple, outputs: torch.Tensor) -> tuple[object | None, str]:
    """(a float64 copy of the torch module behind `denoiser`, or None; what was found), the copy validated
    like `denoiser` (`CheckedDenoiser`) and accepted only if it returns float64 within FLOAT64_COPY_AGREEMENT
    x max(1, max |f|) of `outputs` on `batch` (histories, y, sigma)."""
    inner = getattr(denoiser, "denoiser", denoiser)
    if not isinstance(inner, torch.nn.Module):
        return None, ("not a torch module, so no float64 copy: fixed-point searches may stop short of the "
                      "Newton residual and end inconclusive")
    try:
        module = copy.deepcopy(inner).to(torch.float64)
        for parameter in module.parameters():
            parameter.requires_grad_(False)
        stand_in = CheckedDenoiser(module, getattr(denoiser, "name", "float64 copy"),
                                   getattr(denoiser, "timeout", None))
        with torch.no_grad():
            again = stand_in(*batch)
    except USER_FAILURES as error:
        reason = (str(error).splitlines() or [""])[0][:160]
        return None, (f"its float64 copy failed ({type(error).__name__}: {reason}), so fixed-point checks may end "
                      "inconclusive")
    scale = max(1.0, float(outputs.abs().max()))
    difference = float((again - outputs.to(torch.float64)).abs().max()) / scale
    if again.dtype != torch.float64 or difference > FLOAT64_COPY_AGREEMENT:
        why = (f"still returns {again.dtype}" if again.dtype != torch.float64
               else f"differs by {difference:.3g} (more than {FLOAT64_COPY_AGREEMENT:g})")
        return None, f"its float64 copy {why}, so fixed-point checks may end inconclusive"
    return stand_in, f"fixed points are analysed on a float64 copy of the module (outputs agree to {difference:.2g})"
