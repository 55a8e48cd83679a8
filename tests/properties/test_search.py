"""Counterexample searches: the worst margin seen, results without a counterexample, and seed-only results.

`search` returns a `SearchResult` whether or not it finds a counterexample; its worst margin
and the counterexample's own margin are recomputed here by the ``decdiff verify`` lines the
result gives, on the `.dpomdp` files it wrote. The last test runs one search in two
interpreters with different import histories: hypothesis draws constants harvested from
the loaded local modules unless `seed_only_generation` stops it, and without that the two
runs below measured 151 and 49 examples and different counterexamples.
"""

from __future__ import annotations

import json
import subprocess
import sys

from decdiff.cli import main
from decdiff.properties.search import SCENARIOS, search

SCENARIO = {s.name: s for s in SCENARIOS}
#: Cheap (about a second) and sensitive to the pool of harvested float constants: its models'
#: log prior weights are floats in [-14, 0].
CYCLE = "finding6-composite-cycle"


def _verify(reproduce: str, capsys) -> dict:
    assert main(reproduce.split()[1:] + ["--json", "-"]) == 0
    (record,) = json.loads(capsys.readouterr().out)["checks"]
    return record


def test_search_records_the_worst_margin_beside_the_counterexample(tmp_path, capsys):
    result = search(SCENARIO[CYCLE], seed=0, out_dir=tmp_path)
    assert result.found and result.path.is_file() and result.worst_path.is_file()
    assert result.examples >= result.in_scope >= 1
    assert result.worst_margin <= result.margin < 0
    counterexample = _verify(result.reproduce, capsys)
    assert counterexample["conclusion_holds"] is False and counterexample["margin"] == result.margin
    worst = _verify(result.worst_reproduce, capsys)
    assert worst["conclusion_holds"] is False and worst["margin"] == result.worst_margin
    record = result.to_json(root=tmp_path)
    assert record["found"] and record["file"] == f"{CYCLE}.dpomdp" and record["worst_file"] == f"{CYCLE}.worst.dpomdp"
    assert record["worst_model"] == result.worst_model.name and record["worst_margin"] == result.worst_margin
    assert str(tmp_path) not in record["reproduce"] + record["worst_reproduce"]


def test_search_without_counterexample_says_how_close_it_came(tmp_path, capsys):
    """Ten examples at seed 0 find no composite cycle (measured) but evaluate models in scope."""
    result = search(SCENARIO[CYCLE], seed=0, max_examples=10, out_dir=tmp_path)
    assert not result.found and result.model is result.path is result.reproduce is result.margin is None
    assert 10 >= result.examples >= result.in_scope >= 1 and result.max_examples == 10
    assert result.worst_margin >= 0             # the conclusion held on every model in scope
    worst = _verify(result.worst_reproduce, capsys)
    assert worst["conclusion_holds"] is True and worst["margin"] == result.worst_margin
    assert worst["assumptions"][SCENARIO[CYCLE].dropped] is False
    record = result.to_json()
    assert not record["found"] and record["model"] is None and record["worst_margin"] == result.worst_margin


POOL = ('"""Float literals in [-14, 0], harvested by hypothesis once imported."""\n'
        "LOGS = (-0.3, -1.9, -3.7, -5.5, -7.3, -9.1, -10.9, -12.7)\n")
RUN = ("import json, sys\n"
       "{imports}"
       "from decdiff.properties.search import SCENARIOS, search\n"
       "(scenario,) = [s for s in SCENARIOS if s.name == {name!r}]\n"
       "print(json.dumps(search(scenario, seed=0).to_json()))\n")


def test_search_result_depends_on_its_seed_alone(tmp_path):
    """Two fresh interpreters, one of which first imports a local module of float literals and the report."""
    (tmp_path / "literal_pool.py").write_text(POOL)
    histories = ["", f"sys.path.insert(0, {str(tmp_path)!r})\nimport literal_pool, decdiff.report.suites\n"]
    runs = [subprocess.Popen([sys.executable, "-c", RUN.format(imports=imports, name=CYCLE)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for imports in histories]
    outputs = [run.communicate() for run in runs]
    assert all(run.returncode == 0 for run in runs), [err for _, err in outputs]
    plain, imported = (json.loads(out) for out, _ in outputs)
    assert plain["found"] and plain == imported
