"""The fixed-point section of ``decdiff inspect``: a sampled joint history, each agent's fixed points of f*.

One joint history of length H is sampled (seeded); for every agent, `fixed_point_summary`
finds the fixed points of the exact denoiser f*(tau_i, .) at sigma and certifies them. The
text lists, per agent, each consistent state with its own stable fixed point (distance,
spectral radius, basin mass under p_sigma(y | tau) with its 95% Wilson interval), the
contraction certificate (location and uniqueness radii) and sigma_c (certified lower bound;
exact for one or two states), then any spurious stable points. The JSON record carries all
of it; infinite numbers are written as the string "inf" (JSON has no infinity) and
undefined ones (a failed certificate's radii, an exact sigma_c for many states) as null.
"""

from __future__ import annotations

import math
from typing import Any

from decdiff.implementations.models.decpomdp import DecPOMDP


def sampled_fixed_points(model: DecPOMDP, history_length: int, sigma: float, seed: int, starts: int,
                         saddle_pairs: int = 256, progress: bool = False) -> dict[str, Any]:
    """Sample one joint history (``seed``) and summarise every agent's fixed points at ``sigma``.

    Unstable points are searched from the ``saddle_pairs`` closest pairs of stable ones;
    ``progress`` shows a bar of agents done on stderr.
    """
    from tqdm import tqdm

    from decdiff.implementations.dynamics.certify import fixed_point_summary
    from decdiff.implementations.histories import agent_histories
    from decdiff.implementations.sampling import sample_trajectories

    trajectories = sample_trajectories(model, history_length, 1, seed=seed)
    with tqdm(total=model.n_agents, desc="fixed points", unit="agent", disable=not progress, leave=False) as bar:
        summary = fixed_point_summary(model, agent_histories(model, trajectories), sigma, n_starts=starts, seed=seed,
                                      max_saddle_pairs=saddle_pairs, progress=lambda h: bar.update())
    return {"sigma": sigma, "seed": seed, "history_length": history_length, "starts": starts,
            "saddle_pairs": saddle_pairs, "true_state": model.state_names[int(trajectories.states[0, -1])],
            "agents": summary}


def json_safe(value: Any) -> Any:
    """The record with infinities as "inf"/"-inf" strings (NaN never occurs: it is None already)."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def _num(value: float | None, spec: str = ".3g") -> str:
    return "-" if value is None else format(value, spec)


def print_fixed_points(model: DecPOMDP, record: dict[str, Any], max_points: int) -> None:
    """Per agent: a header, up to ``max_points`` states (most probable first; 0: all), spurious points."""
    print(f"fixed points of f* at sigma = {record['sigma']:g} for a sampled joint history (seed {record['seed']}, "
          f"H = {record['history_length']}, true state {record['true_state']}), {record['starts']} starts "
          f"from p_sigma(y | tau), unstable points from the {record['saddle_pairs']} closest pairs of stable ones:")
    for entry in record["agents"]:
        points = {p["nearest_state"]: p for p in entry["fixed_points"] if not p["spurious"]}
        certified = sum(s["certified"] for s in entry["states"])
        spurious = (f"{entry['spurious']} spurious" if entry["spurious"] or entry["isolated"]
                    else "no spurious one found, none proved absent")
        print(f"  agent {model.agent_names[entry['agent']]}: {len(entry['states'])} consistent states "
              f"({certified} certified), {len(entry['fixed_points'])} stable fixed points "
              f"({spurious}), {entry['unstable_found']} unstable; spurious attractors "
              f"{'excluded' if entry['isolated'] else 'not excluded'} at this sigma (excluded for all "
              f"sigma <= sigma_iso = {_num(entry['isolation_sigma'])})")
        print(f"    {entry['completeness']['statement']}")
        print(f"    {'state':<16} {'p(s|tau)':>9} {'distance':>9} {'rho(J)':>9} {'basin [95% CI]':>22} "
              f"{'r_loc':>9} {'r_uniq':>9} {'sigma_c>=':>9} {'exact':>9}")
        states = sorted(entry["states"], key=lambda s: -s["posterior"])
        shown = states if max_points <= 0 else states[:max_points]
        for s in shown:
            p = points.get(s["state"])
            basin = "-" if p is None else f"{p['basin_mass']:.3f} [{p['basin_ci'][0]:.3f}, {p['basin_ci'][1]:.3f}]"
            print(f"    {s['state']:<16} {s['posterior']:>9.3g} {_num(None if p is None else p['distance']):>9} "
                  f"{_num(None if p is None else p['spectral_radius']):>9} {basin:>22} "
                  f"{_num(s['location_radius']):>9} {_num(s['uniqueness_radius']):>9} "
                  f"{_num(s['sigma_c_certified']):>9} {_num(s['sigma_c_exact']):>9}")
        if len(shown) < len(states):
            print(f"    ... and {len(states) - len(shown)} more states (--max-points 0 lists all)")
        for p in entry["fixed_points"]:
            if p["spurious"]:
                print(f"    spurious stable point nearest {p['nearest_state']} at distance {p['distance']:.3g}, "
                      f"rho(J) {p['spectral_radius']:.3g}, basin {p['basin_mass']:.3f}")
