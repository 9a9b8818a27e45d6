"""`xieshang up` runs the whole stack on one machine; `xieshang demo` loads the demo data.

`up` starts every service as its own `nameko run` process (as in production: one process per
service, see docker-compose.yml), each on its embedded SQLite store under the data directory,
against the RabbitMQ at AMQP_URI. It waits until the gateway reports every service healthy,
loads the demo data (once), prints where to look, and stops the services on Ctrl-C.

The same ``Stack`` runs other layouts (``Layout``): services on PostgreSQL, several instances of a
service, quorum RPC queues. ``scaled_stack`` is the short way, for the benchmarks and the tests::

    with scaled_stack(amqp_uri, "postgresql://postgres@127.0.0.1:5432/postgres", tmp_dir,
                      proposals=2) as stack:          # proposals x2, members, the gateway
        ...  # RPC at amqp_uri, HTTP at stack.local_address(); stopped and its schemas dropped after
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

import click

from xieshang.kernel.config import DEFAULT_AMQP_URI, RPC_QUEUE_TYPES

from .catalog import GATEWAY, PROCESSES, service_module

# The local stack's first administrator: XIESHANG_ADMIN_USER (default admin) and
# XIESHANG_ADMIN_PASSWORD; without the latter a password is made up on the first start and kept,
# owner-only, in the data directory (ADMIN_PASSWORD_FILE), so that later starts reuse it.
DEFAULT_ADMIN_USER = "admin"
ADMIN_PASSWORD_FILE = Path("gateway") / "admin-password"
STOP_TIMEOUT = 20.0
EXIT_NO_BROKER = 3
EXIT_START_FAILED = 4
# `xieshang up --with-upper`: the upper level's virtual host on the same broker, and what it runs
# (what an upper level needs for opinion reports).
UPPER_VHOST = "xieshang-upper"
UPPER_SERVICES = ("members", "feedback", GATEWAY)


def nameko_config() -> Path:
    """infra/nameko.yaml of this checkout (or of the working directory, in an image)."""
    for base in (Path(__file__).resolve().parent.parent, Path.cwd()):
        path = base / "infra" / "nameko.yaml"
        if path.exists():
            return path
    raise click.ClickException("infra/nameko.yaml not found: run from the project's folder")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def safe_uri(uri: str) -> str:
    import kombu

    try:
        return kombu.Connection(uri).as_uri()  # hides the password
    except Exception:
        return "<unparsable AMQP_URI>"


def broker_problem(uri: str, timeout: float = 5.0) -> str | None:
    """None when the broker at ``uri`` accepts a connection, else why not."""
    import kombu

    conn = kombu.Connection(uri, connect_timeout=timeout)
    try:
        conn.ensure_connection(max_retries=0, reraise_as_library_errors=False)
    except Exception as exc:  # any failure is the answer
        return f"{type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(Exception):
            conn.release()
    return None


def no_broker_message(uri: str, problem: str) -> str:
    return (f"RabbitMQ is not reachable at {safe_uri(uri)} ({problem}).\n"
            "xieshang's services talk over RabbitMQ. Start one, then run this again:\n"
            "  - on this machine (Debian/Ubuntu: apt-get install rabbitmq-server): rabbitmq-server -detached\n"
            "  - or with Docker: docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:3-management\n"
            "  - or point AMQP_URI at a running broker, e.g. AMQP_URI=amqp://user:pass@host:5672/")


def kept_secret(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The secret in ``path``, or a new one from ``make`` written there readable by its owner
    only (0600, from the moment the file exists); True when it was made now."""
    try:
        return path.read_text().strip(), False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another start made it meanwhile: theirs holds
        return path.read_text().strip(), False
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return secret, True


@contextlib.contextmanager
def rpc_as_factory(amqp_uri: str, timeout: float = 30.0) -> Iterator:
    """``rpc(actor)``: a cluster RPC proxy whose calls carry ``actor`` (one per actor, reused)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from .demo import context_for

    with contextlib.ExitStack() as stack:
        proxies: dict = {}

        def rpc(actor):
            if actor not in proxies:
                proxies[actor] = stack.enter_context(ClusterRpcProxy(
                    {"AMQP_URI": amqp_uri}, context_data=context_for(actor), timeout=timeout))
            return proxies[actor]
        yield rpc


@dataclass(frozen=True)
class Layout:
    """What a ``Stack`` runs: which services, how many instances of each, on which store.

    The default is `xieshang up`'s: every process once, on SQLite. Several instances of a service
    need a store they share (``event_store="postgres"``): on SQLite each would keep its own log.
    The gateway runs once (it takes the stack's one web address).
    """

    services: tuple[str, ...] = tuple(PROCESSES)
    instances: Mapping[str, int] = field(default_factory=dict)
    event_store: str = "sqlite"
    database_url: str | None = None
    schema_prefix: str = ""
    rpc_queue_type: str | None = None  # None: as the environment or infra/nameko.yaml say
    env: Mapping[str, str] = field(default_factory=dict)  # more settings for every process

    def __post_init__(self) -> None:
        unknown = set(self.services) - set(PROCESSES) or set(self.instances) - set(self.services)
        if unknown:
            raise ValueError(f"unknown or unlisted services {sorted(unknown)}: choose from {PROCESSES}")
        if any(n < 1 for n in self.instances.values()):
            raise ValueError(f"every service needs at least one instance, not {dict(self.instances)}")
        if self.instances.get(GATEWAY, 1) > 1:
            raise ValueError("the gateway runs once in a Stack: it listens on the stack's one address")
        if self.event_store not in ("sqlite", "postgres"):
            raise ValueError(f"event_store is sqlite or postgres, not {self.event_store!r}")
        if self.event_store == "postgres" and not self.database_url:
            raise ValueError("event_store='postgres' needs a database_url")
        if self.event_store == "sqlite" and any(n > 1 for n in self.instances.values()):
            raise ValueError("several instances of a service need event_store='postgres': on "
                             "SQLite each would keep a log of its own")
        if self.rpc_queue_type is not None and self.rpc_queue_type not in RPC_QUEUE_TYPES:
            raise ValueError(f"rpc_queue_type is one of {RPC_QUEUE_TYPES}, not {self.rpc_queue_type!r}")

    def count(self, service: str) -> int:
        return self.instances.get(service, 1) if service in self.services else 0

    def processes(self) -> list[tuple[str, str]]:
        """(process name, service) of each process: ``proposals``, ``proposals-2``, …"""
        return [(service if i == 1 else f"{service}-{i}", service)
                for service in self.services for i in range(1, self.count(service) + 1)]

    def environment(self, amqp_uri: str, data_dir: Path) -> dict[str, str]:
        """The settings every process of this layout gets (over the caller's environment)."""
        env = {"AMQP_URI": amqp_uri, "XIESHANG_DATA_DIR": str(data_dir),
               "EVENT_STORE": self.event_store}
        if self.rpc_queue_type is not None:
            env["XIESHANG_RPC_QUEUE_TYPE"] = self.rpc_queue_type
        if self.event_store == "postgres":
            env.update(DATABASE_URL=str(self.database_url), PG_SCHEMA_PREFIX=self.schema_prefix)
        return {**env, **self.env}


class Stack:
    """The service processes of one `xieshang up`, or of another ``Layout``."""

    def __init__(self, data_dir: Path, amqp_uri: str, web_address: str, layout: Layout | None = None):
        self.admin_password_made = False
        self.data_dir = data_dir
        self.log_dir = data_dir / "logs"
        self.amqp_uri = amqp_uri
        self.web_address = web_address
        self.layout = layout or Layout()
        self.processes: dict[str, subprocess.Popen] = {}
        self._logs: list = []

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "WEB_SERVER_ADDRESS": self.web_address, "PYTHONUNBUFFERED": "1"}
        for key in ("DATABASE_URL", "PG_SCHEMA_PREFIX"):  # the layout says where the stores are
            env.pop(key, None)
        env.update(self.layout.environment(self.amqp_uri, self.data_dir))
        env["XIESHANG_ADMIN_USER"], env["XIESHANG_ADMIN_PASSWORD"] = self.admin()
        env.setdefault("XIESHANG_TOKEN_SECRET", self._token_secret())
        config = nameko_config()
        for name, service in self.layout.processes():
            log = open(self.log_dir / f"{name}.log", "ab")
            self._logs.append(log)
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "nameko", "run", "--config", str(config),
                 service_module(service)],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=str(config.parent.parent),
                # Their own session: a Ctrl-C reaches only us, and we stop them in order.
                start_new_session=True)

    def rpc_consumers(self, service: str) -> int:
        """How many instances of ``service`` consume its RPC queue now (0 before it exists)."""
        import kombu
        from amqp.exceptions import NotFound

        with kombu.Connection(self.amqp_uri, connect_timeout=5) as conn:
            try:
                return conn.channel().queue_declare(queue=f"rpc-{service}", passive=True).consumer_count
            except NotFound:
                return 0

    def wait_ready(self, timeout: float) -> dict:
        """Wait until every instance of every service consumes its RPC queue, then (with the
        gateway) until it reports every service healthy; the health answer, or {}."""
        deadline = time.monotonic() + timeout
        for service in self.layout.services:
            if service == GATEWAY:
                continue
            wanted = self.layout.count(service)
            while self.rpc_consumers(service) < wanted:
                self._fail_if_exited()
                if time.monotonic() > deadline:
                    raise click.ClickException(
                        f"{self.rpc_consumers(service)} of {wanted} instances of {service} "
                        f"consume its queue after {timeout:.0f} s; logs are in {self.log_dir}")
                time.sleep(0.2)
        if GATEWAY not in self.layout.services:
            return {}
        return self.wait_healthy(max(deadline - time.monotonic(), 1.0))

    def drop_schemas(self) -> None:
        """Drop the layout's PostgreSQL schemas: for throwaway stacks, so only with a prefix."""
        if self.layout.event_store != "postgres":
            return
        if not self.layout.schema_prefix:
            raise ValueError("drop_schemas drops only prefixed schemas (a throwaway stack's)")
        import sqlalchemy as sa

        from xieshang.kernel.config import sqlalchemy_pg_url

        engine = sa.create_engine(sqlalchemy_pg_url(self.layout.database_url))
        try:
            with engine.begin() as conn:
                # Every schema of the prefix: besides the layout's pairs, members keeps its
                # contact book in <prefix>members_private.
                names = conn.execute(sa.text("SELECT schema_name FROM information_schema.schemata")).scalars()
                for schema in [n for n in names if n.startswith(self.layout.schema_prefix)]:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            engine.dispose()

    def _fail_if_exited(self) -> None:
        dead = self.exited()
        if dead:
            name, code = next(iter(dead.items()))
            raise click.ClickException(
                f"the {name} process exited with code {code} while starting; the end of its log "
                f"({self.log_dir / (name + '.log')}):\n{self.log_tail(name)}")

    def admin(self) -> tuple[str, str]:
        """The first administrator's user id and password: XIESHANG_ADMIN_USER and
        XIESHANG_ADMIN_PASSWORD (the layout's ``env``, else the environment), else ``admin`` and
        the password kept in the data directory (made up on the first start:
        ``admin_password_made`` says so)."""
        source = {**os.environ, **self.layout.env}
        user = source.get("XIESHANG_ADMIN_USER") or DEFAULT_ADMIN_USER
        given = source.get("XIESHANG_ADMIN_PASSWORD")
        if given:
            return user, given
        password, made = kept_secret(self.admin_password_file(), lambda: secrets.token_urlsafe(18))
        self.admin_password_made |= made
        return user, password

    def admin_password_file(self) -> Path:
        return self.data_dir / ADMIN_PASSWORD_FILE

    def _token_secret(self) -> str:
        """The gateway's token key, kept beside its data so that logins survive a restart."""
        return kept_secret(self.data_dir / "gateway" / "token-secret", lambda: secrets.token_urlsafe(48))[0]

    def exited(self) -> dict[str, int]:
        return {s: p.returncode for s, p in self.processes.items() if p.poll() is not None}

    def log_tail(self, service: str, lines: int = 15) -> str:
        try:
            text = (self.log_dir / f"{service}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _health_details(self, requests, url: str) -> dict | None:
        """/health as the administrator sees it (every service and its log head); anonymous
        callers get the status only. None while the administrator cannot log in. One token for
        the whole wait, and no second try after a refusal: polling with a password the account
        does not have (a data directory from before) would lock the account."""
        if getattr(self, "_health_token", None) is None and not getattr(self, "_admin_refused", False):
            user, password = self.admin()
            try:
                login = requests.post(url.replace("/health", "/api/auth/login"),
                                      json={"user_id": user, "password": password}, timeout=5)
            except Exception:  # the gateway is not listening yet
                return None
            if login.status_code == 200:
                self._health_token = login.json()["token"]
            elif login.status_code in (401, 403, 429):
                self._admin_refused = True
        if getattr(self, "_health_token", None) is None:
            return None
        try:
            answer = requests.get(url, headers={"Authorization": f"Bearer {self._health_token}"}, timeout=5)
            body = answer.json()
        except Exception:
            return None
        return body if "services" in body else None

    def wait_healthy(self, timeout: float) -> dict:
        """Poll the gateway's /health until every service of the layout answers (all of them, for
        `xieshang up`); raise on timeout or a crash."""
        import requests

        url = f"http://{self.local_address()}/health"
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            self._fail_if_exited()
            try:
                answer = requests.get(url, timeout=5)
                body = answer.json()
                if answer.status_code == 200:
                    return self._health_details(requests, url) or body
                details = self._health_details(requests, url) or {}
                checks = details.get("services", {})
                # A layout without some services: /health says degraded for ever; those it has
                # are what counts.
                if checks and all(checks.get(s, {}).get("ok") for s in self.layout.services):
                    return details
                last = "; ".join(f"{s}: {c.get('error')}" for s, c in checks.items()
                                 if not c.get("ok")) or body.get("status", "degraded")
            except Exception as exc:  # not listening yet
                last = f"{type(exc).__name__}"
            time.sleep(0.5)
        raise click.ClickException(f"the services did not all become healthy within {timeout:.0f} s "
                                   f"({last}); logs are in {self.log_dir}")

    def local_address(self) -> str:
        host, _, port = self.web_address.rpartition(":")
        return f"{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}"

    def stop(self) -> None:
        for p in self.processes.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)  # nameko stops gracefully: workers finish
        deadline = time.monotonic() + STOP_TIMEOUT
        for p in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(max(deadline - time.monotonic(), 0.1))
            if p.poll() is None:
                p.kill()
                p.wait()
        for log in self._logs:
            log.close()


@contextlib.contextmanager
def scaled_stack(amqp_uri: str, database_url: str, data_dir: Path, *, proposals: int = 2,
                 services: tuple[str, ...] = ("proposals", "members", GATEWAY),
                 rpc_queue_type: str = "quorum", web_address: str | None = None,
                 env: Mapping[str, str] | None = None, start_timeout: float = 120.0) -> Iterator[Stack]:
    """``services`` on PostgreSQL at ``database_url`` with ``proposals`` instances of the proposals
    service, as docker-compose.yml runs them (quorum RPC queues, one schema pair per service),
    against the broker at ``amqp_uri`` (give each run a virtual host of its own). Yields the
    Stack once every instance consumes its queue and the gateway (if listed) is healthy; then
    stops the processes and drops the run's schemas (prefixed ``bench_<random>_``)."""
    layout = Layout(services=tuple(services),
                    instances={"proposals": proposals} if "proposals" in services else {},
                    event_store="postgres", database_url=database_url,
                    schema_prefix=f"bench_{uuid.uuid4().hex[:8]}_", rpc_queue_type=rpc_queue_type,
                    env=dict(env or {}))
    stack = Stack(Path(data_dir), amqp_uri, web_address or f"127.0.0.1:{free_port()}", layout)
    try:
        stack.start()
        stack.wait_ready(start_timeout)
        yield stack
    finally:
        stack.stop()
        stack.drop_schemas()


@click.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              default=lambda: os.environ.get("XIESHANG_DATA_DIR", "./data"), show_default="./data",
              help="Where each service keeps its SQLite stores, and the logs.")
@click.option("--web", "web_address", default=lambda: os.environ.get("WEB_SERVER_ADDRESS", "127.0.0.1:8000"),
              show_default="127.0.0.1:8000", help="Address the HTTP gateway listens on.")
@click.option("--no-demo", is_flag=True, help="Do not load the demo data.")
@click.option("--start-timeout", default=90.0, show_default=True, help="Seconds to wait for health.")
@click.option("--with-upper", is_flag=True,
              help="Also run the upper level (宁夏回族自治区政协, a province) as a deployment of its "
                   "own in a RabbitMQ virtual host of its own, linked by shovels; the demo "
                   "reports opinion reports up and the instructions come back.")
@click.option("--upper-web", "upper_web", default="127.0.0.1:8001", show_default=True,
              help="Address the upper level's gateway listens on (with --with-upper).")
@click.option("--upper-vhost", default=UPPER_VHOST, show_default=True,
              help="The upper level's RabbitMQ virtual host (with --with-upper; made if missing).")
def up(data_dir: Path, web_address: str, no_demo: bool, start_timeout: float, with_upper: bool,
       upper_web: str, upper_vhost: str) -> None:
    """Run every service (SQLite stores, the RabbitMQ at AMQP_URI) with demo data, until Ctrl-C."""
    amqp_uri = os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI
    problem = broker_problem(amqp_uri)
    if problem:
        click.echo(no_broker_message(amqp_uri, problem), err=True)
        sys.exit(EXIT_NO_BROKER)
    data_dir = data_dir.resolve()
    upper = None
    if with_upper:
        from .demo import DEPLOYMENT, UPPER
        from .levels import Endpoint, LevelsError, ensure_vhost

        upper_uri = with_vhost(amqp_uri, upper_vhost)
        try:
            ensure_vhost(Endpoint(upper_uri, None, UPPER[0], UPPER[1]))
        except LevelsError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_START_FAILED)
        stack = Stack(data_dir, amqp_uri, web_address, Layout(env=deployment_env(
            DEPLOYMENT, f"upper:{UPPER[0]}:{UPPER[1]}:{UPPER[2]}")))
        upper = Stack(data_dir / "upper", upper_uri, upper_web, Layout(
            services=UPPER_SERVICES, env=deployment_env(
                UPPER, f"lower:{DEPLOYMENT[0]}:{DEPLOYMENT[1]}:{DEPLOYMENT[2]}")))
    else:
        stack = Stack(data_dir, amqp_uri, web_address)
    stopping: list[int] = []

    def on_signal(signum, _frame):
        # Interrupt the first time only: a second signal (a repeated Ctrl-C) must not break
        # out of the shutdown below and leave the services running.
        stopping.append(signum)
        if len(stopping) == 1:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    click.echo(f"starting {', '.join(PROCESSES)} against {safe_uri(amqp_uri)}; data in {data_dir}")
    stack.start()
    if upper is not None:
        click.echo(f"starting the upper level's {', '.join(UPPER_SERVICES)} against "
                   f"{safe_uri(upper.amqp_uri)}; data in {upper.data_dir}")
        upper.start()
    try:
        try:
            health = stack.wait_healthy(start_timeout)
            if upper is not None:
                upper.wait_healthy(start_timeout)
                link_levels(amqp_uri, upper.amqp_uri)
                click.echo("linked 石嘴山市政协 (city) and its upper level 宁夏回族自治区政协 "
                           "(province) by shovels (xieshang levels status)")
        except click.ClickException as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(EXIT_START_FAILED)
        heads = ", ".join(f"{s} at position {c['head']}" for s, c in health.get("services", {}).items()
                          if "head" in c) or "details for the administrator only"
        click.echo(f"all services are healthy ({heads})")
        base = f"http://{stack.local_address()}"
        admin_user, admin_password = stack.admin()
        if stack.admin_password_made:  # shown this once; the file keeps it
            click.echo(f"the administrator is {admin_user!r} with the password {admin_password} "
                       f"(made up now, kept owner-only in {stack.admin_password_file()}; an "
                       "administrator account made by an earlier version keeps its own password)")
        elif not os.environ.get("XIESHANG_ADMIN_PASSWORD"):
            click.echo(f"the administrator is {admin_user!r}; its first password is in "
                       f"{stack.admin_password_file()}")
        if not no_demo:
            from . import demo

            demo.create_accounts(base, stack.admin(), say=click.echo)
            with rpc_as_factory(amqp_uri) as rpc:
                loaded = demo.load(rpc, say=click.echo)
                if upper is not None:
                    demo.create_accounts(f"http://{upper.local_address()}", upper.admin(),
                                         say=click.echo, people=demo.upper_accounts())
                    if loaded.get("loaded"):
                        with rpc_as_factory(upper.amqp_uri) as upper_rpc:
                            demo.load_upper(rpc, upper_rpc, loaded["opinion_reports"], say=click.echo)
        click.echo(f"""
xieshang is running. Logs: {stack.log_dir}
  curl {base}/health
  curl {base}/api/public/proposals
  curl {base}/openapi.json                          (the API; log in as in the README)
  xieshang history <stream> --data-dir {data_dir}     (a stream from the list above)
  xieshang verify --data-dir {data_dir}
  xieshang rebuild all --data-dir {data_dir}
Press Ctrl-C to stop.""" + (f"""
The web console 网页: {base}/  log in as staff-szs-001 (or m-szs-001, u-szs-lcj-handler,
  leader-szs-01, auditor-szs-01, pub-demo-01) with the password {demo.DEMO_PASSWORD}""" if not no_demo else f"""
The web console 网页: {base}/""") + (f"""
The upper level 宁夏回族自治区政协: http://{upper.local_address()} (logs: {upper.log_dir}; its data
in {upper.data_dir}, e.g. xieshang history <stream> --data-dir {upper.data_dir})""" if upper else "")
                   + "\nREADY")
        while True:
            for running in (stack, upper):
                dead = running.exited() if running is not None else {}
                if dead:
                    service, code = next(iter(dead.items()))
                    click.echo(f"error: the {service} service stopped (exit code {code}):\n"
                               f"{running.log_tail(service)}", err=True)
                    sys.exit(EXIT_START_FAILED)
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("stopping the services…")
    finally:
        stack.stop()
        if upper is not None:
            upper.stop()
    click.echo("stopped")


# -- an upper level beside the local stack (`xieshang up --with-upper`) ----------------------------


def with_vhost(amqp_uri: str, vhost: str) -> str:
    """``amqp_uri`` naming the virtual host ``vhost`` instead of its own."""
    from urllib.parse import quote, urlsplit, urlunsplit

    return urlunsplit(urlsplit(amqp_uri)._replace(path="/" + quote(vhost, safe="")))


def deployment_env(deployment: tuple[str, str, str], links: str) -> dict[str, str]:
    code, level, _ = deployment
    return {"COMMITTEE_CODE": code, "COMMITTEE_LEVEL": level, "XIESHANG_LINKS": links}


def link_levels(lower_uri: str, upper_uri: str) -> None:
    """Link the local stack (the demo's city) and the upper level's by shovels, and wait until
    both run."""
    from .demo import DEPLOYMENT, UPPER
    from .levels import Endpoint, LevelsError, link, wait_running

    lower = Endpoint(lower_uri, None, DEPLOYMENT[0], DEPLOYMENT[1])
    upper = Endpoint(upper_uri, None, UPPER[0], UPPER[1])
    try:
        link(lower, upper)
        wait_running(lower, upper)
    except LevelsError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("demo")
def demo_command() -> None:
    """Load the demo committee into running services (at AMQP_URI); does nothing the second time."""
    from . import demo

    amqp_uri = os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI
    problem = broker_problem(amqp_uri)
    if problem:
        click.echo(no_broker_message(amqp_uri, problem), err=True)
        sys.exit(EXIT_NO_BROKER)
    with rpc_as_factory(amqp_uri) as rpc:
        demo.load(rpc, say=click.echo)
