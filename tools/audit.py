"""Audit commands: `xieshang history`, `as-of`, `verify` and `rebuild`.

They work offline, straight on the stores the services use (same configuration: EVENT_STORE,
XIESHANG_DATA_DIR, DATABASE_URL, …); no broker and no running service is needed.
"""

from __future__ import annotations

import json
import os
import sys
import unicodedata
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Callable

import click

from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.config import ConfigError
from xieshang.kernel.audit_reads import generic_fold
from xieshang.kernel.contracts import contract_of
from xieshang.kernel.envelope import Envelope

from . import catalog


EXIT_BAD = 1     # verify found a problem
EXIT_USAGE = 2   # unknown stream, service or projection


def _set_data_dir(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        os.environ["XIESHANG_DATA_DIR"] = value


def data_dir_option(f: Callable) -> Callable:
    return click.option(
        "--data-dir", type=click.Path(file_okay=False), expose_value=False, is_eager=True,
        callback=_set_data_dir,
        help="Folder of the SQLite stores (sets XIESHANG_DATA_DIR; default ./data).")(f)


def service_option(f: Callable) -> Callable:
    return click.option("--service", "-s", metavar="SERVICE",
                        help="Look only in this service (default: every service).")(f)


def _fail(message: str, code: int = EXIT_USAGE) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def _services(service: str | None) -> list[str]:
    known = list(catalog.SERVICES)
    if service is None:
        return known
    if service not in known:
        _fail(f"unknown service {service!r}; the services are: {', '.join(known)}")
    return [service]


def _open(service: str):
    try:
        return catalog.open_store(service)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}")


def _find_stream(stream: str, service: str | None) -> list[tuple[str, list[Envelope]]]:
    found = []
    searched = _services(service)
    for svc in searched:
        store = _open(svc)
        if store is None:
            continue
        try:
            events = store.read_stream(stream)
        finally:
            store.close()
        if events:
            found.append((svc, events))
    if not found:
        _fail(f"no stream {stream!r} in the event store of "
              f"{'service ' + searched[0] if service else 'any service (' + ', '.join(searched) + ')'}"
              " — check the name (e.g. proposal-<id>) and --data-dir / EVENT_STORE")
    return found


# -- history ------------------------------------------------------------------
@click.command()
@click.argument("stream")
@service_option
@click.option("--json", "as_json", is_flag=True, help="One JSON envelope per line.")
@data_dir_option
def history(stream: str, service: str | None, as_json: bool) -> None:
    """Every event of STREAM: who did what, when, on whose behalf and why.

    Times in the table are shown in UTC+08:00 (Asia/Shanghai); --json gives the stored
    envelopes (UTC) with their hashes.
    """
    found = _find_stream(stream, service)
    for svc, events in found:
        if as_json:
            for e in events:
                click.echo(json.dumps({"service": svc, **e.to_dict()}, ensure_ascii=False,
                                      sort_keys=True, default=_jsonable))
            continue
        if len(found) > 1:
            click.echo(f"== {svc} ==")
        rows = [[str(e.position), str(e.version), _local(e.recorded_at), e.type,
                 f"{e.actor.user_id} ({e.actor.role}, {e.actor.organisation})",
                 e.on_behalf_of or "", e.reason or "",
                 json.dumps(e.data, ensure_ascii=False, sort_keys=True, default=_jsonable)]
                for e in events]
        click.echo(_table(["POSITION", "VERSION", "RECORDED_AT (UTC+8)", "TYPE", "ACTOR",
                           "ON_BEHALF_OF", "REASON", "DATA"], rows))
        click.echo(f"{len(events)} events of {stream} in {svc}")


# -- as-of --------------------------------------------------------------------
def _parse_time(value: str) -> datetime:
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time, e.g. 2026-05-01T14:30 or "
                                 "2026-05-01T06:30:00Z", param_hint="TIME") from None
    return t if t.tzinfo else t.replace(tzinfo=SHANGHAI)


@click.command("as-of")
@click.argument("stream")
@click.argument("time", metavar="TIME")
@service_option
@data_dir_option
def as_of(stream: str, time: str, service: str | None) -> None:
    """The state of STREAM as it was at TIME: the events recorded at or before TIME, folded.

    TIME is ISO 8601 (2026-05-01T14:30, 2026-05-01T06:30Z, 2026-05-01 14:30:00+08:00) and is
    taken as given: a date alone means 00:00 of that day. A time without a zone is read in
    UTC+08:00 (Asia/Shanghai). The state is printed as JSON; the service's own fold is used
    when it has one for the stream's category, else a generic merge of the events' data.
    """
    at = _parse_time(time)
    found = _find_stream(stream, service)
    if len(found) > 1:
        _fail(f"stream {stream!r} exists in several services ({', '.join(s for s, _ in found)}); "
              "choose one with --service")
    svc, events = found[0]
    upto = [e for e in events if e.recorded_at <= at]
    folder = catalog.state_folders(svc).get(catalog.category(stream))
    how = f"{svc}'s fold for {catalog.category(stream)!r}" if folder else "generic merge"
    if not upto:
        click.echo(f"{stream} did not exist yet at {at.isoformat()}: its first event was recorded "
                   f"at {events[0].recorded_at.astimezone(SHANGHAI).isoformat()}", err=True)
        click.echo("null")
        return
    try:
        state = (folder or generic_fold)(upto)
    except Exception as exc:  # noqa: BLE001 - a service's fold failing on old events is a finding
        _fail(f"{how} failed on {stream} up to position {upto[-1].position}: {exc!r}", EXIT_BAD)
    click.echo(f"{stream} as of {at.isoformat()}: {len(upto)} of {len(events)} events "
               f"(up to version {upto[-1].version}, position {upto[-1].position}; {how})", err=True)
    click.echo(json.dumps(state, ensure_ascii=False, indent=2, sort_keys=True, default=_jsonable))


# -- verify -------------------------------------------------------------------
def _logs(service: str | None) -> list[str]:
    """The logs verify walks: every service's and the gateway's (accounts, API keys)."""
    known = [*catalog.SERVICES, catalog.GATEWAY]
    if service is None:
        return known
    if service not in known:
        _fail(f"unknown service {service!r}; the services are: {', '.join(known)}")
    return [service]


def _public_keys(paths: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """The public keys to check checkpoints with, and where they came from: the files given,
    else the deployment's own (``<XIESHANG_CHECKPOINT_KEY>.pub``) where it exists."""
    from xieshang.kernel.anchoring import key_path, load_public_keys

    if not paths:
        found = [key_path(catalog.settings(svc)) + ".pub" for svc in _logs(None)]
        paths = tuple(dict.fromkeys(p for p in found if os.path.exists(p)))
    try:
        return load_public_keys(paths), list(paths)
    except (OSError, ValueError) as exc:
        _fail(f"--public-key: {exc}")
    raise AssertionError("unreachable")  # pragma: no cover


def _evidence(paths: tuple[str, ...]) -> list:
    from xieshang.kernel.anchoring import read_evidence

    evidence = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                evidence += read_evidence(f.read(), os.path.basename(path))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            _fail(f"--checkpoints: {path}: {exc}")
    return evidence


@click.command()
@click.argument("service", required=False)
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Verify a long log in up to this many processes, each a chunk of positions "
                   "(e.g. the number of cores).")
@click.option("--checkpoints", "checkpoint_files", multiple=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False),
              help="Checkpoints kept outside the log to check it against: JSON lines (or one "
                   "JSON document) of CloudEvents from the feed, envelopes, link messages from "
                   "the upper level or checkpoints. May be given several times.")
@click.option("--public-key", "public_key_files", multiple=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False),
              help="PEM ed25519 public key(s) the checkpoints are signed with (default: the "
                   "deployment's own, <XIESHANG_CHECKPOINT_KEY>.pub, where it exists).")
@data_dir_option
def verify(service: str | None, jobs: int, checkpoint_files: tuple[str, ...],
           public_key_files: tuple[str, ...]) -> None:
    """Walk the hash chain of SERVICE's event store (default: every service and the gateway).

    Exits 0 when every log is intact, 1 when one was modified, deleted from, inserted into or
    reordered (naming the service and the first bad position), or could not be read. With
    --jobs N a SQL store's log is cut into chunks of positions verified in parallel processes;
    the report is the same as with one.

    With a public key (--public-key, or the deployment's own key found), the log is also
    checked against its signed checkpoints (stream log-checkpoints) and those of the
    --checkpoints files: a rewrite with the chain recomputed and a tail deleted with the head
    rewound are found too, and the first position that can no longer be trusted is named.
    """
    from xieshang.kernel.anchoring import CHECKPOINT_STREAM, verify_anchored

    keys, key_files = _public_keys(public_key_files)
    if checkpoint_files and not keys:
        _fail("--checkpoints 需要公钥 (needs the public key the checkpoints are signed with: "
              "--public-key FILE)")
    evidence = _evidence(checkpoint_files)
    if keys:
        click.echo(f"checking checkpoints with {len(keys)} key(s) ({', '.join(sorted(keys))}) "
                   f"from {', '.join(key_files)}", err=True)
    bad = []
    for svc in _logs(service):
        try:
            store = catalog.open_store(svc)
        except ConfigError as exc:
            _fail(f"configuration error: {exc}")
        except Exception as exc:  # noqa: BLE001 - report per service, then go on
            click.echo(f"{svc}: cannot open the event store ({catalog.store_location(svc)}): {exc}")
            bad.append(svc)
            continue
        if store is None:
            if any(e.service == svc for e in evidence):
                click.echo(f"{svc}: BROKEN at position 1: there is no event store at "
                           f"{catalog.store_location(svc)}, but the checkpoints name its log")
                bad.append(svc)
                continue
            click.echo(f"{svc}: ok: 0 events (no event store yet at {catalog.store_location(svc)})")
            continue
        try:
            if keys:
                report = verify_anchored(store, evidence, keys, service=svc, jobs=jobs)
            else:
                report = store.verify(jobs=jobs)
                unchecked = store.stream_version(CHECKPOINT_STREAM)
        except Exception as exc:  # noqa: BLE001
            click.echo(f"{svc}: cannot read the event store: {exc}")
            bad.append(svc)
            continue
        finally:
            store.close()
        if report.ok:
            line = f"{svc}: ok: {report.checked} events, last position {report.last_position}"
            if keys:
                line += (f"; {report.checkpoints} signed checkpoints and {report.pins} copies "
                         f"checked, anchored up to position {report.anchored}")
            elif unchecked:
                line += f"; its {unchecked} checkpoints not checked (no public key: --public-key)"
            click.echo(line)
        elif report.first_bad_position is None:
            click.echo(f"{svc}: CHECKPOINTS UNTRUSTED: {report.problem}")
            bad.append(svc)
        else:
            click.echo(f"{svc}: BROKEN at position {report.first_bad_position}: {report.problem} "
                       f"({report.checked} events before it are intact)")
            bad.append(svc)
        for note in getattr(report, "notes", []):
            click.echo(f"  {note}")
    if bad:
        _fail(f"verify failed for: {', '.join(bad)}", EXIT_BAD)


# -- rebuild ------------------------------------------------------------------
@click.command()
@click.argument("projection", required=False, default="all", metavar="[PROJECTION|all]")
@service_option
@data_dir_option
def rebuild(projection: str, service: str | None) -> None:
    """Drop and replay read models from the event store: one PROJECTION or all of them.

    Shows a progress bar and the replay speed in events/s.
    """
    from xieshang.kernel.projection import ProjectionError, ProjectionRunner
    from xieshang.kernel.store.memory import MemoryEventStore

    plan: list[tuple[str, list, list[str]]] = []  # (service, its projections, names to rebuild)
    known: dict[str, list[str]] = {}
    for svc in _services(service):
        projections = catalog.projections(svc)
        for p in projections:
            known.setdefault(p.name, []).append(svc)
        chosen = projections if projection == "all" else [p for p in projections if p.name == projection]
        if chosen:
            plan.append((svc, projections, [p.name for p in chosen]))
    if not plan:
        if projection == "all":
            click.echo("no projections found (services.<service>.views.PROJECTIONS) in: "
                       + ", ".join(_services(service)))
            return
        _fail(f"no projection {projection!r}; known: "
              + (", ".join(f"{n} ({', '.join(s)})" for n, s in sorted(known.items())) or "none"))
    if projection != "all" and len(plan) > 1:
        _fail(f"projection {projection!r} exists in several services ({', '.join(s for s, *_ in plan)}); "
              "choose one with --service")
    for svc, projections, names in plan:
        store = _open(svc)
        if store is None:  # nothing recorded yet: the views become empty
            store = MemoryEventStore(catalog.settings(svc).deployment)
        engine, schema = catalog.views_engine(svc)
        try:
            runner = ProjectionRunner(store, engine, projections, schema=schema,
                                      registry=contract_of(svc))
            runner.setup()
            result = runner.rebuild(names, progress=True, out=sys.stderr)
        except ProjectionError as exc:
            _fail(f"{svc}: rebuild failed: {exc}", EXIT_BAD)
        finally:
            store.close()
            engine.dispose()
        click.echo(f"{svc}: rebuilt {', '.join(names)}: {result['events']} events in "
                   f"{result['seconds']:.2f} s ({result['events_per_second']:,.0f} events/s)")


# -- formatting ---------------------------------------------------------------
def _local(t: datetime) -> str:
    return t.astimezone(SHANGHAI).isoformat(sep=" ", timespec="microseconds")


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table; the last column is not padded (it holds the event data)."""
    widths = [max(_width(r[i]) for r in [headers, *rows]) for i in range(len(headers) - 1)]

    def line(cells: list[str]) -> str:
        padded = [c + " " * (w - _width(c)) for c, w in zip(cells, widths)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


# -- report -------------------------------------------------------------------
@click.command()
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder to write the files into (created if missing).")
@click.option("--public", is_flag=True,
              help="The version to publish: without the proposers' ids (两公开一公示一通报).")
@data_dir_option
def report(year: int, out_dir: str, public: bool) -> None:
    """The proposals year-end report for YEAR: statistics and the per-case handling table as CSV
    and XLSX, and the on-time and satisfaction charts per unit as PNG.

    The read models are first brought up to date with the event store, so the report reflects
    everything recorded.
    """
    from services.proposals.report import write_year_report

    _write_report("proposals", lambda conn, runner: write_year_report(conn, runner, year, out_dir,
                                                                      public=public))


def _write_report(service: str, write: Callable[[Any, Any], list]) -> None:
    """Bring the service's read models up to date with its store, then ``write(conn, runner)``
    the report and print the paths written."""
    from xieshang.kernel.projection import ProjectionRunner
    from xieshang.kernel.store.memory import MemoryEventStore

    store = _open(service) or MemoryEventStore(catalog.settings(service).deployment)
    engine, schema = catalog.views_engine(service)
    try:
        runner = ProjectionRunner(store, engine, catalog.projections(service), schema=schema,
                                  registry=contract_of(service))
        runner.setup()
        runner.catch_up()
        with engine.connect() as conn:
            written = write(conn, runner)
    finally:
        store.close()
        engine.dispose()
    for path in written:
        click.echo(str(path))


# -- opinion-report -----------------------------------------------------------
def _upper_names(service: str) -> dict[str, str]:
    """The upper committees' names by code, as the links setting (``XIESHANG_LINKS``) names
    them, in its order."""
    from xieshang.kernel.levels import Links

    try:
        links = Links.load(None, catalog.settings(service).deployment)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}")
    return {link.committee: link.name for link in links.upper}


@click.command("opinion-report")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder to write the files into (created if missing).")
@data_dir_option
def opinion_report(year: int, out_dir: str) -> None:
    """The opinion reports (社情民意信息) year report for YEAR: the statistics and the table of
    the year's reports as CSV and XLSX.

    Upper committees are named as the links setting (XIESHANG_LINKS) names them. The read models
    are first brought up to date with the event store, so the report reflects everything
    recorded.
    """
    from services.feedback.report import write_year_report

    names = _upper_names("feedback")
    _write_report("feedback", lambda conn, runner: write_year_report(conn, runner, year, out_dir,
                                                                     names=names))
