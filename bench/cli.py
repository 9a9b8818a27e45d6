"""``xieshang bench``: run the benchmark suite and print its table (or one JSON object)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from typing import Any

import click

from .common import (PG_URL, PgSchemas, Result, SectionTimeout, log, machine, pg_available, section_summary,
                     watchdog)

SECTIONS = ("appends", "reads", "rebuild", "stack", "growth", "verify", "notify", "console")


# How long one section may run before the watchdog fails it with every thread's stack, by mode
# (a quick section takes well under a minute, the full rebuild of 1M events about ten).
SECTION_TIMEOUTS = {"smoke": 240.0, "quick": 600.0, "full": 7200.0}


def run_suite(*, quick: bool = False, smoke: bool = False, sections: tuple[str, ...] = SECTIONS,
              backends: tuple[str, ...] = ("sqlite", "postgresql"), pg_url: str = PG_URL,
              section_timeout: float | None = None) -> dict[str, Any]:
    """Run the chosen sections; returns {"machine", "params", "results", "summaries", "failed",
    "elapsed_s"}. A section that raises or runs past ``section_timeout`` gives one row saying so
    (with the traceback or every thread's stack in its ``extra``) and the next section runs."""
    from . import library

    logging.getLogger("amqp").setLevel(logging.ERROR)
    started = time.monotonic()
    chosen = set(backends)
    pg_skip = pg_available(pg_url) if "postgresql" in chosen else "PostgreSQL not selected"
    info = machine(pg_url if pg_skip is None else None)
    results: list[Result] = []
    summaries: dict[str, str] = {}
    failed: list[str] = []
    schemas = PgSchemas(pg_url) if pg_skip is None else None
    workdir = tempfile.mkdtemp(prefix="xieshang-bench-")
    large: dict[str, str] = {}
    mode = "smoke" if smoke else "quick" if quick else "full"
    limit = section_timeout or SECTION_TIMEOUTS[mode]
    log(f"xieshang bench ({mode}): {', '.join(sections)} on {', '.join(sorted(chosen))}")
    ctx = dict(quick=quick, smoke=smoke, backends=chosen, pg_url=pg_url, schemas=schemas, pg_skip=pg_skip,
               workdir=workdir, large=large)
    try:
        for section in SECTIONS:
            if section not in sections:
                continue
            t0 = time.monotonic()
            log(f"{section}…")
            try:
                with watchdog(section, limit):
                    rows = _run_section(section, ctx)
            except SectionTimeout as exc:
                rows = [_failure_row(section, f"no result within {exc.seconds:.0f} s (the watchdog stopped it; "
                                              f"every thread's stack is in extra.stacks and on stderr)",
                                     {"stacks": exc.stacks, "timeout_s": exc.seconds})]
            except Exception as exc:  # one broken section must not cost the others' figures
                tb = traceback.format_exc()
                log(f"{section} failed:\n{tb}")
                rows = [_failure_row(section, f"{type(exc).__name__}: {str(exc)[:300]}", {"traceback": tb})]
            if any(r.id == f"{section}.failed" for r in rows):
                failed.append(section)
            results += rows
            summaries[section] = section_summary(section, [r.to_dict() for r in rows])
            log(f"{section} took {time.monotonic() - t0:.0f} s")
            log(f"  {summaries[section]}")
    finally:
        if schemas is not None:
            schemas.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["eventsourcing"] = library.VERSION
    return {"machine": info,
            "params": {"mode": mode, "sections": list(sections), "backends": sorted(chosen), "pg_url": pg_url,
                       "pg_skipped": pg_skip, "section_timeout_s": limit},
            "results": [r.to_dict() for r in results],
            "summaries": summaries,
            "failed": failed,
            "elapsed_s": round(time.monotonic() - started, 1)}


def _run_section(section: str, c: dict[str, Any]) -> list[Result]:
    from . import appends, growth, notify_fanout, reads, rebuild, stack

    kw = dict(quick=c["quick"], smoke=c["smoke"])
    pg = dict(backends=c["backends"], pg_url=c["pg_url"], schemas=c["schemas"], pg_skip=c["pg_skip"])
    workdir, large = c["workdir"], c["large"]
    if section == "appends":
        return appends.run(**kw, **pg)
    if section == "reads":
        return reads.run(**kw, **pg)
    if section == "rebuild":
        return rebuild.run(**kw, **pg, workdir=workdir, keep=large)
    if section == "stack":
        return stack.run(**kw, **pg)
    if section == "notify":
        return notify_fanout.run(**kw)
    if section == "console":
        from . import console_pages  # (imports the proposals service: only for this section)

        return console_pages.run(**kw)
    if section == "growth":
        _ensure_large(c)
        return growth.run(**kw, workdir=workdir, large=large)
    if section == "verify":
        _ensure_large(c)
        from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

        from .events import DEPLOYMENT

        store = SqlEventStore(sqlite_engine(large["events"]), DEPLOYMENT, create=False)
        try:
            return reads.verify_rows("sqlite", store, store.head(), 1 if c["quick"] or c["smoke"] else 3,
                                     reads.sqlite_raw_rows(large["events"]),
                                     label=f" ({store.head():,} events)")
        finally:
            store.close()
    raise ValueError(f"unknown section {section!r}")


def _ensure_large(c: dict[str, Any]) -> None:
    """The large store growth and verify work on: the rebuild section's largest, or one of the
    same size made here when the rebuild section did not run (or failed)."""
    from . import rebuild

    large = c["large"]
    if large.get("events") and large.get("views"):
        return
    folder = os.path.join(c["workdir"], "growth-large")
    os.makedirs(folder, exist_ok=True)
    n = 5_000 if c["smoke"] else 50_000 if c["quick"] else 1_000_000
    events, views = os.path.join(folder, "events.sqlite"), os.path.join(folder, "views.sqlite")
    rebuild.make_store(events, n)
    rebuild.rebuild_in_child(events, views, 7200)
    large.update(events=events, views=views)


def _failure_row(section: str, why: str, extra: dict[str, Any]) -> Result:
    return Result(id=f"{section}.failed", section=section, figure=f"the {section} section did not finish",
                  unit="", ours=None, reference=None, reference_name="", note=f"FAILED: {why}", extra=extra)


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
@click.option("--section-timeout", type=float, default=None,
              help="Seconds one section may run before it fails with every thread's stack "
                   f"(default by mode: {', '.join(f'{k} {v:.0f}' for k, v in SECTION_TIMEOUTS.items())}).")
def bench(quick: bool, as_json: bool, markdown: bool, smoke: bool, sections: str, backends: str,
          pg_url: str, out: str | None, section_timeout: float | None) -> None:
    """Benchmarks: every figure beside a reference measured in the same run (docs/performance.md)."""
    wanted = tuple(s.strip() for s in sections.split(",") if s.strip())
    unknown = sorted(set(wanted) - set(SECTIONS))
    if unknown:
        raise click.BadParameter(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    report = run_suite(quick=quick, smoke=smoke, sections=wanted,
                       backends=tuple(b.strip() for b in backends.split(",") if b.strip()), pg_url=pg_url,
                       section_timeout=section_timeout)
    if out:
        with open(out, "w") as f:
            json.dump(report, f, indent=1, default=str)
    if as_json:
        click.echo(json.dumps(report, default=str))
    else:
        click.echo(f"\n{machine_line(report['machine'])}\n")
        click.echo(table(report, markdown=markdown))
        click.echo("")
        for line in report["summaries"].values():
            click.echo(line)
        click.echo(f"\n{len(report['results'])} figures in {report['elapsed_s']:.0f} s")
    if report["failed"]:
        click.echo(f"failed sections: {', '.join(report['failed'])}", err=True)
        sys.exit(1)


def main() -> None:
    bench(prog_name="xieshang bench")


if __name__ == "__main__":
    sys.exit(main())
