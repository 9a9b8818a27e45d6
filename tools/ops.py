"""Operator commands: `xieshang relay` (publication lag) and `xieshang dead-letters`."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys

import click

from xieshang.kernel.config import DEFAULT_AMQP_URI, ConfigError

from . import catalog
from .audit import EXIT_BAD, _fail, _table, data_dir_option, service_option


def handler_queues() -> list[tuple[str, str, str]]:
    """(service, method, queue) of every event handler the services declare, and of the link
    inbox (the messages other committees send)."""
    from xieshang.kernel.consumer import EventEntrypoint, event_queue_name
    from xieshang.kernel.levels import INBOX_QUEUE, LinkInbox

    found = []
    for service in catalog.SERVICES:
        try:
            module = importlib.import_module(catalog.service_module(service))
        except ModuleNotFoundError:
            continue
        for cls in vars(module).values():
            if not (inspect.isclass(cls) and cls.__module__ == module.__name__
                    and isinstance(getattr(cls, "name", None), str)):
                continue
            for method_name, method in inspect.getmembers(cls, inspect.isfunction):
                for ep in getattr(method, "nameko_entrypoints", ()):
                    if isinstance(ep, EventEntrypoint):
                        found.append((cls.name, method_name, event_queue_name(
                            ep.source_service, ep.event_type, cls.name, method_name)))
                    elif isinstance(ep, LinkInbox):
                        found.append((cls.name, method_name, INBOX_QUEUE))
                    elif isinstance(getattr(ep, "QUEUE", None), str):  # notify.webhooks (the integration exchange)
                        found.append((cls.name, method_name, ep.QUEUE))
    return sorted(found)


@click.command()
@service_option
@data_dir_option
def relay(service: str | None) -> None:
    """How far each service's relay has published: its store's head, the relay's checkpoint
    (the last position the broker confirmed) and the lag between them. Reads the stores only."""
    rows = []
    for svc in ([service] if service else catalog.SERVICES):
        if svc not in catalog.SERVICES:
            _fail(f"unknown service {svc!r}; the services are: {', '.join(catalog.SERVICES)}")
        try:
            store = catalog.open_store(svc)
        except ConfigError as exc:
            _fail(f"configuration error: {exc}")
        if store is None:
            rows.append([svc, "0", "0", "0", "no event store yet"])
            continue
        try:
            head = store.head()
            checkpoint = store.get_checkpoint(f"relay:{svc}.events")
        finally:
            store.close()
        lag = max(head - checkpoint, 0)
        rows.append([svc, str(head), str(checkpoint), str(lag),
                     "published" if lag == 0 else "behind: the relay publishes from the checkpoint "
                                                  "when its service runs"])
    click.echo(_table(["SERVICE", "HEAD", "PUBLISHED_TO", "LAG", "STATE"], rows))


@click.group("dead-letters")
def dead_letters() -> None:
    """List and replay events that a handler failed on too many times (AMQP_URI's broker)."""


def _amqp_uri() -> str:
    return os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI


@dead_letters.command("queues")
def dl_queues() -> None:
    """The handler queues whose dead letters can be listed, with their counts."""
    from xieshang.kernel.consumer import DeadLetterError, list_dead_letters

    rows = []
    for service, method, queue in handler_queues():
        try:
            count = str(len(list_dead_letters(_amqp_uri(), queue)))
        except DeadLetterError:
            count = "-"  # its service has not started yet on this broker
        rows.append([queue, f"{service}.{method}", count])
    click.echo(_table(["QUEUE", "HANDLER", "DEAD_LETTERS"], rows))


@dead_letters.command("list")
@click.argument("queue")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per dead letter.")
def dl_list(queue: str, limit: int | None, as_json: bool) -> None:
    """The dead letters of handler QUEUE, oldest first (they stay where they are)."""
    from xieshang.kernel.consumer import DeadLetterError, list_dead_letters

    try:
        letters = list_dead_letters(_amqp_uri(), queue, limit=limit)
    except DeadLetterError as exc:
        _fail(str(exc))
    if as_json:
        for letter in letters:
            click.echo(json.dumps(letter, ensure_ascii=False, sort_keys=True, default=str))
        return
    rows = [[str(d["message_id"]), str(d["event_type"]), str(d["position"]), str(d["deliveries"]),
             str(d["dead_at"]), str(d["error"] or d["reason"])] for d in letters]
    click.echo(_table(["MESSAGE_ID", "TYPE", "POSITION", "DELIVERIES", "DEAD_AT", "ERROR"], rows))
    click.echo(f"{len(letters)} dead letter(s) in {queue}.dead")


@dead_letters.command("replay")
@click.argument("queue")
@click.option("--id", "message_ids", multiple=True, help="Replay only this message id (repeatable).")
def dl_replay(queue: str, message_ids: tuple[str, ...]) -> None:
    """Move dead letters of QUEUE back to it for another try (all, or those given by --id)."""
    from xieshang.kernel.consumer import DeadLetterError, replay_dead_letters

    try:
        moved = replay_dead_letters(_amqp_uri(), queue, message_ids or None)
    except DeadLetterError as exc:
        _fail(str(exc), EXIT_BAD)
    click.echo(f"replayed {moved} dead letter(s) to {queue}")
    if message_ids and moved < len(message_ids):
        click.echo(f"{len(message_ids) - moved} of the given ids were not in the dead-letter queue",
                   err=True)
        sys.exit(EXIT_BAD)
