"""The versioned JSON Schema of a report, and validation against it (jsonschema)."""

from __future__ import annotations

from typing import Any

import jsonschema

from decdiff.report.verdicts import STATEMENT_VERDICTS

SCHEMA_VERSION = "1.4"

_NUMBER_OR_NULL = {"type": ["number", "string", "null"]}   # non-finite numbers are written as strings

CHECK_RESULT = {
    "type": "object",
    "required": ["id", "claim", "subject", "assumptions", "conclusion_holds", "verdict", "observed", "bound",
                 "margin", "tolerance", "ci", "n_cases", "seed", "counterexample", "reproduce", "note"],
    "properties": {
        "id": {"type": "string"},
        "claim": {"type": "string"},
        "subject": {"type": "object", "required": ["model", "denoiser", "sigma", "history_length"]},
        "assumptions": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "conclusion_holds": {"type": ["boolean", "null"]},
        "verdict": {"enum": ["holds", "violated", "outside-assumptions", "inconclusive", "skipped"]},
        "observed": _NUMBER_OR_NULL, "bound": _NUMBER_OR_NULL, "margin": _NUMBER_OR_NULL,
        "tolerance": {"type": "object"},
        "ci": {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "n_cases": {"type": "integer", "minimum": 0},
        "seed": {"type": ["integer", "null"]},
        "counterexample": {"type": ["object", "null"]},
        "reproduce": {"type": "string"},
        "note": {"type": "string"},
    },
}

CLAIM = {
    "type": "object",
    "required": ["name", "statement", "latex", "assumptions", "assumption_ids", "statement_verdict", "conditions",
                 "evidence", "why"],
    "properties": {
        "assumption_ids": {"type": "object", "additionalProperties": {"enum": ["stated", "added"]}},
        "statement_verdict": {"enum": list(STATEMENT_VERDICTS)},
        "conditions": {"type": "array", "items": {
            "type": "object", "required": ["assumptions", "text", "basis"],
            "properties": {"assumptions": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                           "text": {"type": "string"}}}},
        "evidence": {"type": "array", "items": {"type": "string"}},
        "why": {"type": "string"},
    },
}

TRAINING = {"type": "object", "required": ["model", "config", "record"],
            "properties": {"record": {"type": "object", "required": ["epochs", "best_val_mse", "bayes_mse",
                                                                     "mse_ratio", "train_pairs"]}}}

_FIGURE_KEYS = {
    "fig1": ["sigma", "grid", "models"],
    "fig2": ["model", "agent_panel", "agents_panel", "rank_panel", "checks"],
    "fig3": ["sigma", "panels", "checks"],
    "fig4": ["model", "true_state", "dimensions", "panels"],
    "table1": ["model", "seeds", "data_range", "columns", "every_column", "checks"],
    "smax": ["label", "config", "table1", "fig2_g2", "paper_table1", "differences_from_smacv2", "checks"],
}
FIGURES = {"type": "object", "additionalProperties": False,
           "properties": {name: {"type": "object", "required": keys,
                                 "properties": {"checks": {"type": "array", "items": CHECK_RESULT}}}
                          for name, keys in _FIGURE_KEYS.items()}}

REPORT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "decdiff theorem-validation report",
    "type": "object",
    "required": ["schema_version", "suite", "seed", "environment", "claims", "summary", "counts",
                 "claims_without_executed_checks", "trained_denoisers", "derivations", "runs", "counterexamples",
                 "mutation", "figures"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "suite": {"type": "object", "required": ["name", "description"]},
        "seed": {"type": "integer"},
        "mutation": {"oneOf": [{"type": "null"},
                               {"type": "object", "required": ["subject", "checks", "kill_rate", "unkilled", "killers",
                                                               "mutants"]}]},
        "environment": {"type": "object", "required": ["python", "packages"]},
        "claims": {"type": "array", "items": CLAIM},
        "summary": {"type": "array", "items": {"type": "object", "required": ["claim", "symbolic", "exact",
                                                                             "trained"]}},
        "counts": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["planned", "ran", "skipped"]}},
        "derivations": {"type": "array", "items": {"type": "object", "required": ["derivation_id", "verdict", "expression_hash"]}},
        "trained_denoisers": {"type": "array", "items": {**TRAINING, "required": ["model", "config", "record",
                                                                                  "checkpoint"]}},
        "runs": {"type": "array", "items": {"type": "object", "required": ["model", "history_length", "sigma",
                                                                          "denoiser", "training", "checks"],
                                            "properties": {"training": {"anyOf": [{"type": "null"}, TRAINING]},
                                                           "checks": {"type": "array", "items": CHECK_RESULT}}}},
        "counterexamples": {"type": "array", "items": {"type": "object", "required": [
            "scenario", "claim", "dropped_assumption", "check", "seed", "max_examples", "examples", "in_scope", "found",
            "model", "margin", "file", "reproduce", "worst_margin", "worst_model", "worst_file", "worst_reproduce"]}},
        "figures": FIGURES,
    },
}


def validate_report(report: dict[str, Any]) -> None:
    """Raise `jsonschema.ValidationError` unless `report` follows the schema."""
    jsonschema.validate(report, REPORT)
