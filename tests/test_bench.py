"""Keeps the benchmark suite (bench/, run as `python -m bench` or `xieshang bench`) from rotting:
its quickest subset runs and prints one JSON object of the documented shape. It asserts the
shape, never a speed."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from tools.cli import main

SECTIONS = "appends,reads,rebuild,growth,verify"
ROW_KEYS = {"id", "section", "figure", "unit", "ours", "reference", "reference_name", "ratio",
            "better", "target", "target_met", "beats_reference", "n", "note", "extra"}


def test_the_smoke_subset_prints_every_figure_with_its_reference_as_one_json_object(tmp_path):
    # A process of its own: the suite must not run under the tests' eventlet monkey-patching.
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "bench", "--smoke", "--json",
         "--sections", SECTIONS, "--backends", "sqlite"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)

    assert set(report) == {"machine", "params", "results", "elapsed_s"}
    assert report["params"]["mode"] == "smoke"
    assert {"cpu", "cores", "python", "sqlite"} <= set(report["machine"])
    rows = report["results"]
    ids = {r["id"] for r in rows}
    for expected in ("append.sqlite.single", "append.sqlite.batch", "append.sqlite.single.vs_raw",
                     "read.sqlite.all", "read.sqlite.stream50", "verify.sqlite",
                     "rebuild.peak_rss", "rebuild.statement_cost", "growth.command",
                     "growth.file_in_full_session"):
        assert expected in ids, f"{expected} missing from {sorted(ids)}"
    sizes = [r for r in rows if r["id"].startswith("rebuild.") and r["id"].split(".")[1].isdigit()]
    assert len(sizes) == 2 and sizes[0]["n"] < sizes[1]["n"]           # two sizes, N stated
    for r in rows:
        assert set(r) == ROW_KEYS, r["id"]
        assert r["ours"] is not None and r["ours"] > 0, r["id"]
        assert r["better"] in ("higher", "lower")
        if r["reference"] is not None:
            assert r["ratio"] == r["ours"] / r["reference"]
        else:  # only the library's rows may lack a reference, and then they say why
            assert r["note"], r["id"]
        if r["target"] is not None:
            assert isinstance(r["target_met"], bool)


def test_xieshang_bench_is_the_same_command():
    result = CliRunner().invoke(main, ["bench", "--help"])
    assert result.exit_code == 0, result.output
    assert "--quick" in result.output and "--sections" in result.output
