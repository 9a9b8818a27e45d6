"""``xieshang bench``: run the benchmark suite and print its table (or one JSON object)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import time
from typing import Any

import click

from .common import PG_URL, PgSchemas, Result, log, machine, pg_available

SECTIONS = ("appends", "reads", "rebuild", "stack", "growth", "verify")


def run_suite(*, quick: bool = False, smoke: bool = False, sections: tuple[str, ...] = SECTIONS,
              backends: tuple[str, ...] = ("sqlite", "postgresql"), pg_url: str = PG_URL) -> dict[str, Any]:
    """Run the chosen sections; returns {"machine", "params", "results", "elapsed_s"}."""
    from . import appends, growth, library, reads, rebuild, stack

    logging.getLogger("amqp").setLevel(logging.ERROR)
    started = time.monotonic()
    chosen = set(backends)
    pg_skip = pg_available(pg_url) if "postgresql" in chosen else "PostgreSQL not selected"
    info = machine(pg_url if pg_skip is None else None)
    results: list[Result] = []
    schemas = PgSchemas(pg_url) if pg_skip is None else None
    workdir = tempfile.mkdtemp(prefix="xieshang-bench-")
    large: dict[str, str] = {}
    mode = "smoke" if smoke else "quick" if quick else "full"
    log(f"xieshang bench ({mode}): {', '.join(sections)} on {', '.join(sorted(chosen))}")
    try:
        for section in SECTIONS:
            if section not in sections:
                continue
            t0 = time.monotonic()
            log(f"{section}…")
            kw = dict(quick=quick, smoke=smoke)
            if section == "appends":
                results += appends.run(**kw, backends=chosen, pg_url=pg_url, schemas=schemas, pg_skip=pg_skip)
            elif section == "reads":
                results += reads.run(**kw, backends=chosen, pg_url=pg_url, schemas=schemas, pg_skip=pg_skip)
            elif section == "rebuild":
                results += rebuild.run(**kw, workdir=workdir, keep=large)
            elif section == "stack":
                results += stack.run(**kw)
            elif section == "growth":
                if not large:
                    rebuild_dir = os.path.join(workdir, "growth-large")
                    os.makedirs(rebuild_dir, exist_ok=True)
                    n = 5_000 if smoke else 50_000 if quick else 1_000_000
                    events = os.path.join(rebuild_dir, "events.sqlite")
                    rebuild.make_store(events, n)
                    rebuild.rebuild_in_child(events, os.path.join(rebuild_dir, "views.sqlite"), 7200)
                    large.update(events=events, views=os.path.join(rebuild_dir, "views.sqlite"))
                results += growth.run(**kw, workdir=workdir, large=large)
            elif section == "verify" and large:
                from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

                from .events import DEPLOYMENT

                store = SqlEventStore(sqlite_engine(large["events"]), DEPLOYMENT, create=False)
                try:
                    results += reads.verify_rows("sqlite", store, store.head(), 1 if quick or smoke else 3,
                                                 reads.sqlite_raw_rows(large["events"]),
                                                 label=f" ({store.head():,} events)")
                finally:
                    store.close()
            log(f"{section} took {time.monotonic() - t0:.0f} s")
    finally:
        if schemas is not None:
            schemas.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["eventsourcing"] = library.VERSION
    return {"machine": info,
            "params": {"mode": mode, "sections": list(sections), "backends": sorted(chosen), "pg_url": pg_url,
                       "pg_skipped": pg_skip},
            "results": [r.to_dict() for r in results],
            "elapsed_s": round(time.monotonic() - started, 1)}


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit in ("ms", "MiB") or abs(value) < 100:
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,.0f}"


def table(report: dict[str, Any], markdown: bool = False) -> str:
    """The results as a table: figure, ours, reference, ratio, target, met."""
    rows = [("figure", "unit", "ours", "reference", "ratio", "target", "met", "reference is")]
    for r in report["results"]:
        met = {True: "yes", False: "NO", None: "—"}[r["target_met"]]
        if r["ratio"] is not None and r["target_met"] is None and r["beats_reference"] is False:
            met = "(slower than ref)"
        rows.append((r["figure"], r["unit"], _fmt(r["ours"], r["unit"]), _fmt(r["reference"], r["unit"]),
                     "—" if r["ratio"] is None else f"{r['ratio']:.2f}×",
                     _fmt(r["target"], r["unit"]) if r["target"] is not None else "—", met,
                     r["reference_name"] + (f" — {r['note']}" if r["note"] else "")))
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(str(c).replace("|", "/") for c in row) + " |" for row in rows[1:]]
        return "\n".join(lines)
    widths = [min(max(len(str(row[i])) for row in rows), 70) for i in range(7)]
    out = []
    for row in rows:
        cells = [str(c)[:widths[i]].ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
                 for i, c in enumerate(row[:7])]
        out.append("  ".join(cells))
    return "\n".join(out)


def machine_line(m: dict[str, Any]) -> str:
    pg = (f"PostgreSQL {m.get('postgresql')} (synchronous_commit={m.get('pg_synchronous_commit')}, "
          f"fsync={m.get('pg_fsync')}, round trip {m.get('pg_round_trip_us')} µs)") if m.get("postgresql") else "no PostgreSQL"
    return (f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; Python {m['python']}, "
            f"SQLite {m['sqlite']}, {pg}; eventsourcing {m.get('eventsourcing')}, psycopg "
            f"{m.get('psycopg_version')} ({m.get('psycopg_impl')}); load average "
            f"{m['load_average_at_start'][0]} at start, {m['load_average_at_end'][0]} at end")


@click.command("bench")
@click.option("--quick", is_flag=True, help="Smaller N and shorter runs: the whole suite in under two minutes.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (for docs/performance.md).")
@click.option("--smoke", is_flag=True, hidden=True, help="Tiny N, for the test that keeps this code alive.")
@click.option("--sections", default=",".join(SECTIONS), show_default=True,
              help="Comma-separated sections to run.")
@click.option("--backends", default="sqlite,postgresql", show_default=True,
              help="Stores to measure appends and reads on.")
@click.option("--pg-url", default=PG_URL, show_default=True, help="PostgreSQL (schemas bench_* are made and dropped).")
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the JSON report to this file.")
def bench(quick: bool, as_json: bool, markdown: bool, smoke: bool, sections: str, backends: str,
          pg_url: str, out: str | None) -> None:
    """Benchmarks: every figure beside a reference measured in the same run (docs/performance.md)."""
    wanted = tuple(s.strip() for s in sections.split(",") if s.strip())
    unknown = sorted(set(wanted) - set(SECTIONS))
    if unknown:
        raise click.BadParameter(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    report = run_suite(quick=quick, smoke=smoke, sections=wanted,
                       backends=tuple(b.strip() for b in backends.split(",") if b.strip()), pg_url=pg_url)
    if out:
        with open(out, "w") as f:
            json.dump(report, f, indent=1, default=str)
    if as_json:
        click.echo(json.dumps(report, default=str))
    else:
        click.echo(f"\n{machine_line(report['machine'])}\n")
        click.echo(table(report, markdown=markdown))
        click.echo(f"\n{len(report['results'])} figures in {report['elapsed_s']:.0f} s")


def main() -> None:
    bench(prog_name="xieshang bench")


if __name__ == "__main__":
    sys.exit(main())
