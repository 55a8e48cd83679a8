"""The trained denoisers of a report: each trained once, its checkpoint cached in the report folder.

A `TrainSpec` is a model and a `TrainingConfig`; its checkpoint lives at
``OUT/checkpoints/<key>.pt`` where the key names the model, width, history length,
trajectories and seed and ends in a hash of the whole configuration. A cached checkpoint
is used only when its stored configuration equals the spec's; otherwise it is trained
again. Training is forced onto the CPU with one thread, so the weights (and the report)
are the same whether a checkpoint was trained now or read from the cache, and whether it
was trained in this process, in a local worker process (`train_all`) or on a Dask worker (`training_tasks`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from decdiff.implementations.training import TrainingConfig
from decdiff.parallel.tasks import Task

#: The training record's fields that go into the report (seconds and device do not: they vary run to run).
RECORD_FIELDS = ("epochs", "best_epoch", "best_val_mse", "bayes_mse", "mse_ratio", "train_pairs", "val_pairs")


@dataclass(frozen=True)
class TrainSpec:
    """One trained denoiser: a model spec and its training configuration (CPU, one thread)."""

    model: str
    config: TrainingConfig

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", replace(self.config, device="cpu", threads=1))

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps({"model": self.model, "config": asdict(self.config)}))

    @property
    def key(self) -> str:
        """File stem: readable parts and a hash of the full configuration."""
        digest = hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:10]
        c = self.config
        slug = re.sub(r"[^A-Za-z0-9=.]+", "_", self.model)
        return f"{slug}-w{c.width}-H{c.history_length}-n{c.samples}-sigma{c.sigma:g}-seed{c.seed}-{digest}"

    def checkpoint(self, out_dir: Path) -> Path:
        return out_dir / "checkpoints" / f"{self.key}.pt"


def _cached_record(spec: TrainSpec, path: Path) -> dict[str, Any] | None:
    """The stored training record if `path` holds this spec's checkpoint, else None."""
    from decdiff.errors import InputError
    from decdiff.implementations.denoisers.checkpoints import read_checkpoint

    if not path.is_file():
        return None
    try:
        meta = read_checkpoint(path)["metadata"]
    except InputError:
        return None
    stored = meta.get("report_spec")
    return meta.get("training") if stored == spec.to_json() else None


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """The deterministic part of a training record (no timings)."""
    return {name: record[name] for name in RECORD_FIELDS}


def ensure_trained(spec: TrainSpec, out_dir: Path) -> tuple[dict[str, Any], bool]:
    """Train `spec` unless its checkpoint is cached; returns (record summary, whether it was trained now)."""
    from decdiff.implementations.denoisers.checkpoints import (
        model_fields,
        save_checkpoint,
    )
    from decdiff.implementations.models.registry import load_model
    from decdiff.implementations.training import train_denoiser

    path = spec.checkpoint(out_dir)
    cached = _cached_record(spec, path)
    if cached is not None:
        return summary(cached), False
    model = load_model(spec.model)
    denoiser, record = train_denoiser(model, spec.config, progress=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, denoiser, {**model_fields(model), "training": record.to_json(),
                                     "report_spec": spec.to_json()})
    return summary(record.to_json()), True


def train_job(spec: TrainSpec, out_dir: str) -> tuple[dict[str, Any], bool]:
    """A worker's job: the same deterministic settings as the report's own process."""
    import torch

    torch.use_deterministic_algorithms(True)
    return ensure_trained(spec, Path(out_dir))


def training_step(spec: TrainSpec) -> str:
    """The name of `spec`'s training among a run's steps (what the steps that read its checkpoint wait for)."""
    return f"train {spec.key}"


def untrained(specs: Sequence[TrainSpec], out_dir: Path) -> list[TrainSpec]:
    """The specs without a cached checkpoint under `out_dir`, in order."""
    return [s for s in specs if _cached_record(s, s.checkpoint(out_dir)) is None]


def training_tasks(specs: Sequence[TrainSpec], out_dir: Path) -> list[Task]:
    """One task per spec still to train (`train_job`), named by `training_step`."""
    return [Task(training_step(s), train_job, (s, str(out_dir))) for s in untrained(specs, out_dir)]


def train_all(specs: Sequence[TrainSpec], out_dir: Path, *, jobs: int,
              done: Callable[[TrainSpec, dict[str, Any], bool], None]) -> dict[str, dict[str, Any]]:
    """Train (or find cached) every spec in this machine's processes; key -> record summary.

    The specs to train are trained in `jobs` local worker processes when jobs > 1, else here
    (on Dask they are `training_tasks`). Training is seeded by its configuration and runs on one
    thread, so the checkpoints are the same bytes either way. ``done(spec, summary, trained_now)``
    is called as each finishes. Local workers are spawned, so a script that gets here with jobs > 1
    must guard its entry point (``if __name__ == "__main__"``).
    """
    records: dict[str, dict[str, Any]] = {}
    pending = untrained(specs, out_dir)
    for spec in specs:
        if spec not in pending:
            records[spec.key], _ = ensure_trained(spec, out_dir)
            done(spec, records[spec.key], False)
    if jobs > 1 and len(pending) > 1:
        with ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(train_job, spec, str(out_dir)): spec for spec in pending}
            for future in as_completed(futures):
                spec = futures[future]
                records[spec.key], trained = future.result()
                done(spec, records[spec.key], trained)
    else:
        for spec in pending:
            records[spec.key], trained = ensure_trained(spec, out_dir)
            done(spec, records[spec.key], trained)
    return records


def stored_records(specs: Sequence[TrainSpec], out_dir: Path) -> dict[str, dict[str, Any]]:
    """key -> the record summary stored with each spec's checkpoint (every spec must be trained)."""
    return {s.key: summary(_stored(s, out_dir)) for s in specs}


def training_seconds(spec: TrainSpec, out_dir: Path) -> float:
    """The wall-clock seconds the stored checkpoint of `spec` took to train."""
    return float(_stored(spec, out_dir)["seconds"])


def _stored(spec: TrainSpec, out_dir: Path) -> dict[str, Any]:
    record = _cached_record(spec, spec.checkpoint(out_dir))
    if record is None:
        raise FileNotFoundError(f"{spec.checkpoint(out_dir)}: no checkpoint of this configuration")
    return record


def load_trained(spec: TrainSpec, out_dir: Path):
    """(model, MLPDenoiser) of a spec whose checkpoint exists."""
    from decdiff.implementations.denoisers.checkpoints import load_checkpoint
    from decdiff.implementations.models.registry import load_model

    model = load_model(spec.model)
    return model, load_checkpoint(spec.checkpoint(out_dir), model)
