"""The report section's data: schema, verdict logic, labels, determinism; the SMAX denoiser's training."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("jaxmarl")

import torch  # noqa: E402

from decdiff.implementations.smax import LABEL  # noqa: E402
from decdiff.implementations.smax.collect import JointPairs  # noqa: E402
from decdiff.implementations.smax.denoisers import smax_encoding, train_smax_denoiser  # noqa: E402
from decdiff.report.figures import smax_figures  # noqa: E402
from decdiff.report.seed_stats import across_seeds, every_column  # noqa: E402
from decdiff.report.smax import (  # noqa: E402
    PAPER_TABLE1,
    paper_reference_rows,
    smax_section_data,
    smax_table_rows,
)


def test_section_schema(tiny_section, tiny_config):
    data = tiny_section
    assert data["title"] == LABEL and data["scenario"] == "smacv2_5_units"
    assert {"table1", "fig2_g2", "paper_table1", "differences_from_smacv2", "behaviour_policies",
            "checks"} <= set(data)
    table = data["table1"]
    assert [(c["factor"], c["value"]) for c in table["columns"]] == \
        [(f, v) for f, values in tiny_config.table for v in values]
    assert table["data_range"] == pytest.approx(1.0)                  # normalised states span [0, 1]
    assert table["denoising_steps"] == tiny_config.psnr_passes * 5
    for column in table["columns"]:
        assert len(column["training"]) == len(tiny_config.seeds)
        assert all(t["bayes_mse"] is None and t["mse_ratio"] is None for t in column["training"])
    fig = data["fig2_g2"]
    assert fig["feature_dim"] == 5 + tiny_config.fig2_history_length * 137
    assert len(fig["ranks"]) == len(fig["deviation_norms"]) == fig["converged"] <= fig["pairs"]
    assert all(0 <= r <= fig["max_possible_rank"] for r in fig["ranks"])
    assert [line["quantile"] for line in fig["r_hat"]] == [0.25, 1.0]
    # an epsilon-local set is degenerate when it has at most |tau| + 1 = 143 members: the largest epsilon's
    # set holds every converged sample, the smallest's about a quarter of them
    everything, quarter = fig["r_hat"][1], fig["r_hat"][0]
    assert everything["mean_set_size"] == fig["converged"]
    assert everything["degenerate_sets"] == (everything["anchors"] if fig["converged"] <= 143 else 0)
    assert (everything["mean_R_hat"] is None) == (everything["degenerate_sets"] == everything["anchors"])
    assert quarter["degenerate_sets"] == quarter["anchors"] and quarter["mean_R_hat"] is None
    policy = data["behaviour_policies"][0]
    assert policy["label"].startswith(LABEL) and policy["mappo"]["env_steps"] == 65_536
    assert len(PAPER_TABLE1["columns"]) == len(PAPER_TABLE1["test"]["composite"]) == 14
    json.dumps(data, allow_nan=False)


def test_verdicts_follow_the_per_seed_numbers(tiny_section):
    table = tiny_section["table1"]
    verdicts = []
    for column in table["columns"]:
        for split in ("train", "test"):
            cell = column[split]
            differences = [s["composite"] - s["individual"] for s in cell["per_seed"]]
            interval = across_seeds(differences)
            assert cell["verdict"] == interval.verdict
            # the per-seed PSNRs are rounded to 6 digits; the interval's t factor (12.7 for 2 seeds) amplifies that
            assert cell["difference"] == pytest.approx(np.mean(differences), abs=1e-3)
            assert cell["ci"] == pytest.approx([interval.low, interval.high], abs=1e-3)
            verdicts.append(cell["verdict"])
    check, _rank = tiny_section["checks"]          # Table 1's, then Fig. 2(g.2)'s
    assert table["every_column"] == check["verdict"] == every_column(verdicts)
    assert check["subject"]["model"].startswith(LABEL)


def test_labels_never_claim_smacv2(tiny_section):
    """Every label reads "SMACv2-like (JaxMARL SMAX)"; "SMACv2" alone appears only for the paper and the differences."""
    text = json.dumps({k: v for k, v in tiny_section.items() if k not in ("paper_table1", "differences_from_smacv2")})
    assert text.count("SMACv2") == text.count("SMACv2-like (JaxMARL SMAX)") > 0


def test_rendering(tiny_section):
    (figure,) = smax_figures(tiny_section)
    assert figure.png.startswith(b"\x89PNG") and LABEL in figure.title
    header, rows = smax_table_rows(tiny_section)
    assert len(header) == 2 + len(tiny_section["table1"]["columns"]) and len(rows) == 8
    header, rows = paper_reference_rows()
    assert "samples=10 (so printed; 10K?)" in header
    assert rows[2][2:] == [f"{v:.2f}" for v in PAPER_TABLE1["test"]["individual"]]


def test_section_is_deterministic(tiny_section, tiny_config, tmp_path):
    """A fresh cache (MAPPO, rollouts and networks trained again) gives the same JSON."""
    again = smax_section_data(tiny_config, 0, tmp_path)
    assert json.dumps(again, sort_keys=True) == json.dumps(tiny_section, sort_keys=True)


def test_smax_denoiser_training_is_seeded():
    from decdiff.implementations.training import TrainingConfig

    rng = np.random.default_rng(0)
    pairs = JointPairs(rng.normal(size=(60, 5, 5 + 137)).astype(np.float32),
                       rng.uniform(size=(60, 100)).astype(np.float32), np.repeat(np.arange(12), 5))
    config = TrainingConfig(history_length=1, sigma=0.5, samples=60, epochs=3, width=16, depth=2, batch_size=64,
                            device="cpu", threads=1, seed=3)
    encoding = smax_encoding(5, 127, 10, 1)
    (a, record), (b, _) = (train_smax_denoiser(pairs, encoding, config) for _ in range(2))
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), name
    assert record.bayes_mse is None and record.mse_ratio is None
    assert record.train_pairs + record.val_pairs == 300 and record.val_pairs % 5 == 0
