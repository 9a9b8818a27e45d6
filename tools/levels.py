"""`xieshang levels`: link committees of different levels by RabbitMQ shovels.

A link between a lower committee (e.g. a county) and an upper one (its city, or the province)
is two dynamic shovels (docs/adr/0009-levels-linked-by-shovels.md), made through each broker's
management HTTP API:

- on the lower broker (vhost), ``xieshang.levels.to.<upper>``: from its queue
  ``xieshang.levels.out.<upper>`` to the upper broker's ``xieshang.levels.in`` with routing key
  ``from.<lower>``;
- on the upper broker, ``xieshang.levels.to.<lower>``: from ``xieshang.levels.out.<lower>`` to
  the lower broker's ``xieshang.levels.in`` with routing key ``from.<upper>``.

Both acknowledge a message at the source only once the destination confirmed it
(``on-confirm``), so nothing is lost while either side is down; the source queues (and each
side's inbox) are declared here too, so messages wait even before the services start.

Each side is an ``Endpoint``: its AMQP URI (with the vhost), its management URL, its committee
code and level, and ``shovel_uri``, how the *other* broker reaches this one (default: the AMQP
URI; in compose the brokers know each other by their service names). A shovel reads its source
queue through the broker's own direct connection (``amqp:///<vhost>``).

The functions (``link``, ``unlink``, ``shovel_states``, ``wait_running``) are used by the tests
and by ``xieshang up``; the commands wrap them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import click

from xieshang.kernel.config import DEFAULT_AMQP_URI
from xieshang.kernel.envelope import LEVELS
from xieshang.kernel.levels import (IN_EXCHANGE, INBOX_QUEUE, declare_link_topology, from_key,
                                    out_queue_name)

from .audit import EXIT_BAD, _fail, _table

MANAGEMENT_URL_KEY = "XIESHANG_MANAGEMENT_URL"
MANAGEMENT_PORT = 15672
SHOVEL_PREFIX = "xieshang.levels.to."
RECONNECT_DELAY = 1  # seconds: how soon a shovel tries again after losing either side
HTTP_TIMEOUT = 10.0


class LevelsError(RuntimeError):
    """A link cannot be made, removed or read; the message says why and what to check."""


def shovel_name(to_committee: str) -> str:
    """The name of the shovel (on the sender's vhost) carrying messages to ``to_committee``."""
    return f"{SHOVEL_PREFIX}{to_committee}"


@dataclass(frozen=True)
class Endpoint:
    """One side of a link: a committee's broker (vhost) and who it is.

    ``management_url`` None: ``XIESHANG_MANAGEMENT_URL``, else the AMQP host on port 15672.
    The management API is called with the management URL's user and password if it names
    them, else the AMQP URI's. ``shovel_uri``: how the other side's broker reaches this one
    (default ``amqp_uri``). ``level`` is needed to link, not to unlink or read."""

    amqp_uri: str
    management_url: str | None
    committee: str
    level: str | None = None
    shovel_uri: str | None = None

    @property
    def vhost(self) -> str:
        return vhost_of(self.amqp_uri)

    @property
    def management(self) -> str:
        """The management API's base URL (without ``/api`` and without credentials)."""
        url = (self.management_url or os.environ.get(MANAGEMENT_URL_KEY)
               or f"http://{urlsplit(self.amqp_uri).hostname or '127.0.0.1'}:{MANAGEMENT_PORT}")
        parts = urlsplit(url.rstrip("/"))
        path = parts.path[:-len("/api")] if parts.path.endswith("/api") else parts.path
        return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], path, "", ""))

    @property
    def credentials(self) -> tuple[str, str]:
        url = self.management_url or os.environ.get(MANAGEMENT_URL_KEY) or ""
        for parts in (urlsplit(url), urlsplit(self.amqp_uri)):
            if parts.username:
                return unquote(parts.username), unquote(parts.password or "")
        return "guest", "guest"

    @property
    def reach_uri(self) -> str:
        """How the other broker reaches this one (a shovel's destination URI). The broker
        knows the scheme ``amqp`` only: kombu's ``pyamqp`` is the same protocol."""
        uri = self.shovel_uri or self.amqp_uri
        return "amqp://" + uri[len("pyamqp://"):] if uri.startswith("pyamqp://") else uri

    @property
    def local_uri(self) -> str:
        """How this broker's shovels read its own queues: its direct connection."""
        return f"amqp:///{quote(self.vhost, safe='')}"

    def describe(self) -> str:
        """The committee and where it is, without credentials."""
        return f"{self.committee or 'the broker'} (vhost {self.vhost!r} at {self.management})"


def _of(endpoint: Endpoint) -> str:
    return f" of committee {endpoint.committee}" if endpoint.committee else ""


def vhost_of(amqp_uri: str) -> str:
    """The vhost an AMQP URI names (``/`` when none): ``/%2Fa`` is ``/a``, ``/name`` ``name``."""
    path = urlsplit(amqp_uri).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def _api_path(*segments: str) -> str:
    return "/api/" + "/".join(quote(s, safe="") for s in segments)


def _call(endpoint: Endpoint, method: str, *segments: str, **kwargs: Any):
    import requests

    url = endpoint.management + _api_path(*segments)
    try:
        response = requests.request(method, url, auth=endpoint.credentials, timeout=HTTP_TIMEOUT,
                                    **kwargs)
    except requests.RequestException as exc:
        raise LevelsError(
            f"RabbitMQ 管理接口无法连接：{endpoint.management} (the management API"
            f"{_of(endpoint)} is unreachable at {endpoint.management}: {type(exc).__name__}; "
            "is the broker running with the rabbitmq_management plugin, and is the URL right? "
            f"set it with --*-management or {MANAGEMENT_URL_KEY})") from None
    if response.status_code == 401:
        raise LevelsError(f"RabbitMQ 管理接口拒绝了用户 {endpoint.credentials[0]!r} (the management "
                          f"API at {endpoint.management} refused user "
                          f"{endpoint.credentials[0]!r}: wrong password, or not a management user)")
    return response


def _check(endpoint: Endpoint, response, what: str) -> None:  # noqa: ANN001
    if response.status_code >= 400:
        raise LevelsError(f"RabbitMQ 管理接口操作失败 ({what} failed on {endpoint.describe()}: "
                          f"HTTP {response.status_code} {response.text[:300]})")


def check_vhost(endpoint: Endpoint) -> None:
    """Raise ``LevelsError`` unless the endpoint's vhost exists (and the API answers)."""
    response = _call(endpoint, "GET", "vhosts", endpoint.vhost)
    if response.status_code == 404:
        raise LevelsError(f"虚拟主机 {endpoint.vhost!r} 不存在 (vhost {endpoint.vhost!r}"
                          f"{_of(endpoint)} does not exist at {endpoint.management}: create it "
                          "or correct the AMQP URI's path)")
    _check(endpoint, response, f"reading vhost {endpoint.vhost!r}")


def ensure_vhost(endpoint: Endpoint) -> None:
    """Create the endpoint's vhost unless it exists, and let the management user (who is the
    AMQP URI's user unless the management URL names another) use it."""
    _check(endpoint, _call(endpoint, "PUT", "vhosts", endpoint.vhost), f"creating vhost {endpoint.vhost!r}")
    _check(endpoint, _call(endpoint, "PUT", "permissions", endpoint.vhost, endpoint.credentials[0],
                           json={"configure": ".*", "write": ".*", "read": ".*"}),
           f"granting {endpoint.credentials[0]!r} the vhost {endpoint.vhost!r}")


def _check_pair(lower: Endpoint, upper: Endpoint, *, levels: bool) -> None:
    from xieshang.kernel.levels import _CODE

    for side, ep in (("lower", lower), ("upper", upper)):
        if not _CODE.fullmatch(ep.committee or ""):
            raise LevelsError(f"委员会代码只能由字母、数字、-、_ 组成 ({side} committee code must be "
                              f"letters, digits, - or _, not {ep.committee!r})")
        if levels and ep.level not in LEVELS:
            raise LevelsError(f"级别须为 {'、'.join(LEVELS)} 之一 ({side} level must be one of "
                              f"{', '.join(LEVELS)}, not {ep.level!r})")
    if lower.committee == upper.committee:
        raise LevelsError(f"委员会不能与自身建立联系 (a committee cannot be linked to itself: "
                          f"{lower.committee})")
    if levels and LEVELS.index(str(lower.level)) <= LEVELS.index(str(upper.level)):
        raise LevelsError(f"下级委员会的级别须低于上级 (the lower committee {lower.committee} "
                          f"({lower.level}) must be below the upper one {upper.committee} "
                          f"({upper.level}))")


def declare_side(endpoint: Endpoint, peer: str) -> None:
    """Declare on the endpoint's broker the queue of what waits for committee ``peer``, the
    inbound exchange and, if it is missing, the inbox (with the kernel's arguments)."""
    from amqp.exceptions import NotFound
    from kombu import Connection

    try:
        with Connection(endpoint.amqp_uri, connect_timeout=HTTP_TIMEOUT) as conn:
            conn.ensure_connection(max_retries=1)
            channel = conn.channel()
            declare_link_topology(channel, [peer], inbox=False)
            channel.exchange_declare(IN_EXCHANGE, "topic", durable=True, auto_delete=False)
            try:
                conn.channel().queue_declare(INBOX_QUEUE, passive=True)
            except NotFound:  # closes that channel; the inbox is made as the service would
                declare_link_topology(conn.channel(), outbound=False)
    except LevelsError:
        raise
    except Exception as exc:
        raise LevelsError(f"无法在消息代理上声明联系队列 (could not declare the link's queues on "
                          f"{endpoint.describe()}: {type(exc).__name__}: {str(exc)[:200]})") from None


def shovel_definition(source: Endpoint, dest: Endpoint,
                      reconnect_delay: float = RECONNECT_DELAY) -> dict[str, Any]:
    """The dynamic shovel on ``source``'s vhost that carries its messages for ``dest``."""
    return {
        "src-protocol": "amqp091",
        "src-uri": source.local_uri,
        "src-queue": out_queue_name(dest.committee),
        "src-delete-after": "never",
        "dest-protocol": "amqp091",
        "dest-uri": dest.reach_uri,
        "dest-exchange": IN_EXCHANGE,
        # The receiver believes the sender this key names, and nothing in the body.
        "dest-exchange-key": from_key(source.committee),
        "ack-mode": "on-confirm",
        "reconnect-delay": reconnect_delay,
    }


def _put_shovel(source: Endpoint, dest: Endpoint, reconnect_delay: float) -> str:
    name = shovel_name(dest.committee)
    response = _call(source, "PUT", "parameters", "shovel", source.vhost, name,
                     json={"value": shovel_definition(source, dest, reconnect_delay)})
    if response.status_code == 404:
        raise LevelsError(f"RabbitMQ 未启用 shovel 插件 (RabbitMQ at {source.management} has no "
                          "shovel parameters: enable the rabbitmq_shovel and "
                          "rabbitmq_shovel_management plugins)")
    _check(source, response, f"creating shovel {name!r}")
    return name


def link(lower: Endpoint, upper: Endpoint, *, reconnect_delay: float = RECONNECT_DELAY
         ) -> dict[str, str]:
    """Link ``lower`` to ``upper``: declare both sides' queues and make (or replace) the two
    shovels. Idempotent. Returns the shovel names by side (``lower``, ``upper``)."""
    _check_pair(lower, upper, levels=True)
    for ep in (lower, upper):
        check_vhost(ep)
    declare_side(lower, upper.committee)
    declare_side(upper, lower.committee)
    return {"lower": _put_shovel(lower, upper, reconnect_delay),
            "upper": _put_shovel(upper, lower, reconnect_delay)}


def unlink(lower: Endpoint, upper: Endpoint) -> list[str]:
    """Delete the two shovels of the link (those that exist). The queues stay: what is
    published meanwhile waits there for the next ``link``. Returns the deleted names."""
    _check_pair(lower, upper, levels=False)
    deleted = []
    for source, dest in ((lower, upper), (upper, lower)):
        name = shovel_name(dest.committee)
        response = _call(source, "DELETE", "parameters", "shovel", source.vhost, name)
        if response.status_code == 404:
            check_vhost(source)  # a missing vhost says so; a missing shovel is fine
            continue
        _check(source, response, f"deleting shovel {name!r}")
        deleted.append(name)
    return deleted


def shovels(endpoint: Endpoint) -> list[dict[str, Any]]:
    """The link shovels on the endpoint's vhost: name, state (``starting``, ``running``,
    ``terminated`` ...), source queue, destination (without credentials), reason if any."""
    check_vhost(endpoint)
    response = _call(endpoint, "GET", "shovels", endpoint.vhost)
    _check(endpoint, response, "reading the shovels")
    states = {s.get("name"): s for s in response.json()}
    response = _call(endpoint, "GET", "parameters", "shovel", endpoint.vhost)
    params = {p["name"]: p.get("value", {}) for p in response.json()} if response.ok else {}
    out = []
    for name in sorted(set(states) | set(params)):
        if not str(name).startswith(SHOVEL_PREFIX):
            continue
        status, value = states.get(name, {}), params.get(name, {})
        out.append({
            "name": name,
            "state": status.get("state", "not started"),
            "src_queue": value.get("src-queue") or status.get("src_queue"),
            "dest_uri": _without_password(value.get("dest-uri") or status.get("dest_uri") or ""),
            "dest_exchange_key": value.get("dest-exchange-key") or status.get("dest_exchange_key"),
            "reason": status.get("reason"),
        })
    return out


def shovel_states(endpoint: Endpoint) -> dict[str, str]:
    """Each link shovel's state on the endpoint's vhost, by name."""
    return {s["name"]: s["state"] for s in shovels(endpoint)}


def waiting(endpoint: Endpoint, queue: str) -> int | None:
    """Messages in ``queue`` on the endpoint's vhost (None if it does not exist)."""
    response = _call(endpoint, "GET", "queues", endpoint.vhost, queue)
    if response.status_code == 404:
        return None
    _check(endpoint, response, f"reading queue {queue!r}")
    return int(response.json().get("messages") or 0)


def wait_running(lower: Endpoint, upper: Endpoint, timeout: float = 30.0) -> None:
    """Wait until both shovels of the link run; ``LevelsError`` with their states if not."""
    wanted = ((lower, shovel_name(upper.committee)), (upper, shovel_name(lower.committee)))
    deadline = time.monotonic() + timeout
    while True:
        states = {name: shovel_states(ep).get(name, "missing") for ep, name in wanted}
        if all(state == "running" for state in states.values()):
            return
        if time.monotonic() > deadline:
            raise LevelsError(f"联系的 shovel 未能运行 (the link's shovels are not running after "
                              f"{timeout}s: {states})")
        time.sleep(0.2)


def _without_password(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc))


# -- commands ---------------------------------------------------------------------------------------

def _side_options(side: str, *, level_required: bool):
    def decorate(f):
        for option in reversed([
            click.option(f"--{side}-amqp", required=True, metavar="URI",
                         help=f"The {side} committee's broker, with its vhost "
                              "(amqp://user:pass@host:5672/vhost)."),
            click.option(f"--{side}-committee", required=True, metavar="CODE",
                         help=f"The {side} committee's code (e.g. "
                              f"{'640302' if side == 'lower' else '640300'})."),
            click.option(f"--{side}-level", required=level_required,
                         type=click.Choice(LEVELS), help=f"The {side} committee's level."),
            click.option(f"--{side}-management", metavar="URL", default=None,
                         help=f"Its management API (default: {MANAGEMENT_URL_KEY}, else the AMQP "
                              "host on port 15672)."),
            click.option(f"--{side}-shovel-uri", metavar="URI", default=None,
                         help="How the other broker reaches this one (default: the AMQP URI)."),
        ]):
            f = option(f)
        return f
    return decorate


def _endpoint(side: str, kw: dict[str, Any]) -> Endpoint:
    return Endpoint(kw[f"{side}_amqp"], kw[f"{side}_management"], kw[f"{side}_committee"],
                    kw.get(f"{side}_level"), kw[f"{side}_shovel_uri"])


@click.group("levels")
def levels() -> None:
    """Link committees of different levels (county, city, province, national) by RabbitMQ
    shovels: reports go up, decisions come back (docs/adr/0009-levels-linked-by-shovels.md).
    Each side also needs the other in its XIESHANG_LINKS."""


@levels.command("link")
@_side_options("lower", level_required=True)
@_side_options("upper", level_required=True)
@click.option("--wait/--no-wait", default=True, help="Wait until both shovels run (30 s).")
def link_command(wait: bool, **kw: Any) -> None:
    """Make the two shovels of a link (or replace them), declaring both sides' queues."""
    lower, upper = _endpoint("lower", kw), _endpoint("upper", kw)
    try:
        names = link(lower, upper)
        if wait:
            wait_running(lower, upper)
    except LevelsError as exc:
        _fail(str(exc), EXIT_BAD)
    click.echo(f"linked {lower.committee} ({lower.level}) → {upper.committee} ({upper.level}): "
               f"shovel {names['lower']} on vhost {lower.vhost!r}, {names['upper']} on vhost "
               f"{upper.vhost!r}")


@levels.command("unlink")
@_side_options("lower", level_required=False)
@_side_options("upper", level_required=False)
def unlink_command(**kw: Any) -> None:
    """Delete the two shovels of a link; what is sent meanwhile waits in the queues."""
    lower, upper = _endpoint("lower", kw), _endpoint("upper", kw)
    try:
        deleted = unlink(lower, upper)
    except LevelsError as exc:
        _fail(str(exc), EXIT_BAD)
    click.echo(f"unlinked {lower.committee} and {upper.committee}: deleted "
               f"{', '.join(deleted) if deleted else 'nothing (no shovels)'}")


@levels.command("status")
@click.option("--amqp", "amqp_uri", default=None, metavar="URI",
              help="The committee's broker with its vhost (default: AMQP_URI).")
@click.option("--management", default=None, metavar="URL",
              help=f"Its management API (default: {MANAGEMENT_URL_KEY}, else port 15672).")
def status_command(amqp_uri: str | None, management: str | None) -> None:
    """The link shovels of one committee's vhost, their state and what waits for each link."""
    endpoint = Endpoint(amqp_uri or os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI, management, "")
    try:
        found = shovels(endpoint)
        rows = [[s["name"], str(s["state"]), str(s["src_queue"]),
                 str(waiting(endpoint, s["src_queue"]) if s["src_queue"] else "-"),
                 f"{s['dest_uri']} key {s['dest_exchange_key']}"
                 + (f" ({s['reason']})" if s["reason"] else "")] for s in found]
    except LevelsError as exc:
        _fail(str(exc), EXIT_BAD)
    if not rows:
        click.echo(f"no link shovels on vhost {endpoint.vhost!r}")
        return
    click.echo(_table(["SHOVEL", "STATE", "SOURCE", "WAITING", "DESTINATION"], rows))
