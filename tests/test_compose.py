"""docker-compose.yml would start every service: each service's environment, interpolated as
Docker Compose does and read through infra/nameko.yaml as `nameko run` reads it, passes the
checks the service makes at start (Settings.load and the RPC queue settings for every service;
for the gateway also the token key, the trusted proxies and the first administrator). And it runs
what it says it runs: two instances of every service, on PostgreSQL, with quorum RPC queues."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

import pytest
import yaml

from services.gateway.auth import (ADMIN_PASSWORD_KEY, ADMIN_USER_KEY, Tokens, TrustedProxies,
                                   check_password)
from xieshang.kernel.clock import clock_from_config
from tools.catalog import PROCESSES
from xieshang.kernel.config import ConfigError, RpcQueues, Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
NAMEKO_YAML = ROOT / "infra" / "nameko.yaml"
# What an operator sets (README: "Production-shaped stack"); nothing else from the shell.
OPERATOR = {"XIESHANG_TOKEN_SECRET": "a-deployment-secret-" + "k" * 40,
            "XIESHANG_SERVICES_AMQP_PASSWORD": "services-" + "p" * 20,
            "XIESHANG_SUBSCRIBER_AMQP_PASSWORD": "subscriber-" + "q" * 20}

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class ComposeError(Exception):
    """What `docker compose` would refuse to start with."""


def interpolate(value, env: dict[str, str]):
    """Compose's variable substitution: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
    ${VAR?error}, $$."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        present = name in env
        empty = present and env[name] == ""
        if op in (":?", "?") and (not present or (op == ":?" and empty)):
            raise ComposeError(f"required variable {name} is missing a value: {arg}")
        if op in (":-", "-") and (not present or (op == ":-" and empty)):
            return arg
        return env.get(name, "")
    return _VARIABLE.sub(one, value)


def compose(env: dict[str, str]) -> dict:
    # FullLoader, not SafeLoader: nameko's yaml parser (set up below) teaches SafeLoader to
    # resolve ${…} itself, which would not be Compose's substitution.
    return interpolate(yaml.load(COMPOSE.read_text(), Loader=yaml.FullLoader), env)


def nameko_services(doc: dict, profile: str | None = None) -> dict[str, tuple[str, dict[str, str]]]:
    """Each compose service that runs a nameko service: (its module, its environment); those
    started without a profile, or those of ``profile``."""
    found = {}
    for name, service in doc["services"].items():
        if (profile not in service.get("profiles", [])) if profile else service.get("profiles"):
            continue
        command = service.get("command") or []
        if command[:2] == ["nameko", "run"]:
            assert command[2:4] == ["--config", "infra/nameko.yaml"], name
            found[name] = (command[4], {k: "" if v is None else str(v)
                                        for k, v in (service.get("environment") or {}).items()})
    return found


def instances(doc: dict) -> dict[str, int]:
    """How many instances of each nameko service the file starts (replicas of every compose
    service that runs its module)."""
    counts: dict[str, int] = {}
    for name, (module, _) in nameko_services(doc).items():
        replicas = int((doc["services"][name].get("deploy") or {}).get("replicas", 1))
        service = module.split(".")[1]  # services.<service>.service
        counts[service] = counts.get(service, 0) + replicas
    return counts


def nameko_config(environment: dict[str, str], monkeypatch) -> dict:
    """infra/nameko.yaml as `nameko run` reads it in a container with exactly ``environment``."""
    from nameko.cli.main import setup_yaml_parser

    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    setup_yaml_parser()
    return yaml.safe_load(NAMEKO_YAML.read_text())


def starts(module: str, config: dict) -> str:
    """The checks a service makes when it starts with ``config``; its nameko name."""
    service = next(cls for cls in vars(importlib.import_module(module)).values()
                   if isinstance(cls, type) and cls.__module__ == module and hasattr(cls, "name"))
    Settings.load(service.name, config)  # every store, projection and the contact book
    RpcQueues.load(config)  # the RPC entrypoint's queue (xieshang.kernel.rpc)
    clock = clock_from_config(config)
    if service.name == "gateway":
        Tokens.from_config(config, clock)
        TrustedProxies.from_config(config)
        user, password = config.get(ADMIN_USER_KEY) or "", config.get(ADMIN_PASSWORD_KEY) or ""
        if bool(user) != bool(password):
            raise ConfigError(f"set both {ADMIN_USER_KEY} and {ADMIN_PASSWORD_KEY}, or neither")
        if password:
            check_password(user, password)
    return service.name


def test_every_service_of_the_compose_file_would_start(monkeypatch):
    services = nameko_services(compose(OPERATOR))
    assert set(services) == {"proposals", "members", "feedback", "notify", "gateway", "gateway-2"}
    names = {}
    for name, (module, environment) in services.items():
        config = nameko_config(environment, monkeypatch)
        assert config["EVENT_STORE"] == "postgres" and config["DATABASE_URL"], name
        names[name] = starts(module, config)
    assert names == {name: name.removesuffix("-2") for name in services}


def test_every_service_runs_twice_on_postgres_with_quorum_rpc_queues(monkeypatch):
    doc = compose(OPERATOR)
    assert instances(doc) == {process: 2 for process in PROCESSES}
    for name, (module, environment) in nameko_services(doc).items():
        config = nameko_config(environment, monkeypatch)
        # the instances of a service share its store: PostgreSQL, the same schemas for all
        assert Settings.load(starts(module, config), config).event_store == "postgres"
        assert config["PG_SCHEMA_PREFIX"] == "" and config["DATABASE_URL"].endswith("/xieshang")
        assert RpcQueues.load(config) == RpcQueues("quorum", 3), name
        # and it is up before them (the gateway too: its accounts and sessions are there)
        assert doc["services"][name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_gateway_instances_listen_on_ports_of_their_own():
    doc = compose(OPERATOR)
    ports = {name: doc["services"][name]["ports"] for name in ("gateway", "gateway-2")}
    assert ports == {"gateway": ["8000:8000"], "gateway-2": ["8001:8000"]}
    moved = compose({**OPERATOR, "XIESHANG_HTTP_PORT": "9000", "XIESHANG_HTTP_PORT_2": "9001"})
    assert [moved["services"][n]["ports"] for n in ports] == [["9000:8000"], ["9001:8000"]]
    # the second is the first but for its port
    assert {k: v for k, v in doc["services"]["gateway-2"].items() if k != "ports"} == {
        k: v for k, v in doc["services"]["gateway"].items() if k != "ports"}


def test_the_operator_chooses_the_rpc_queues(monkeypatch):
    env = {**OPERATOR, "XIESHANG_RPC_QUEUE_TYPE": "classic", "XIESHANG_RPC_DELIVERY_LIMIT": "7"}
    for name, (module, environment) in nameko_services(compose(env)).items():
        config = nameko_config(environment, monkeypatch)
        assert RpcQueues.load(config) == RpcQueues("classic", 7), name
    module, environment = nameko_services(compose({**OPERATOR, "XIESHANG_RPC_QUEUE_TYPE": "lazy"}))["members"]
    with pytest.raises(ConfigError, match="XIESHANG_RPC_QUEUE_TYPE must be classic or quorum"):
        starts(module, nameko_config(environment, monkeypatch))


def test_the_gateway_gets_the_token_key_the_operator_sets(monkeypatch):
    module, environment = nameko_services(compose(OPERATOR))["gateway"]
    config = nameko_config(environment, monkeypatch)
    assert config["XIESHANG_TOKEN_SECRET"] == OPERATOR["XIESHANG_TOKEN_SECRET"]
    # without it the gateway would not start on PostgreSQL: the check above is the one that matters
    with pytest.raises(ConfigError, match="XIESHANG_TOKEN_SECRET is not set"):
        starts(module, {**config, "XIESHANG_TOKEN_SECRET": ""})


def test_compose_refuses_to_start_without_a_token_key_and_says_which():
    for env in ({k: v for k, v in OPERATOR.items() if k != "XIESHANG_TOKEN_SECRET"},
                {**OPERATOR, "XIESHANG_TOKEN_SECRET": ""}):
        with pytest.raises(ComposeError, match="XIESHANG_TOKEN_SECRET"):
            compose(env)


def test_the_operators_other_settings_reach_the_services(monkeypatch):
    env = {**OPERATOR, "XIESHANG_ADMIN_USER": "admin", "XIESHANG_ADMIN_PASSWORD": "a-long-first-passphrase",
           "XIESHANG_TRUSTED_PROXIES": "10.0.0.0/8", "XIESHANG_COMMITTEE_CODE": "0640",
           "XIESHANG_COMMITTEE_LEVEL": "county"}
    for name, (module, environment) in nameko_services(compose(env)).items():
        config = nameko_config(environment, monkeypatch)
        service = starts(module, config)
        assert service == name.removesuffix("-2")
        assert Settings.load(service, config).deployment.committee == "0640"  # a string, leading zero kept
    gateway = nameko_config(nameko_services(compose(env))["gateway"][1], monkeypatch)
    assert TrustedProxies.from_config(gateway).trusts("10.1.2.3")
    assert gateway["XIESHANG_ADMIN_USER"] == "admin"


def test_the_upper_profile_runs_a_linked_upper_level_on_a_broker_of_its_own(monkeypatch):
    from xieshang.kernel.levels import Links

    env = {**OPERATOR, "XIESHANG_LINKS": "upper:640000:province:宁夏回族自治区政协"}
    doc = compose(env)
    upper = nameko_services(doc, "upper")
    assert set(upper) == {f"{p}-upper" for p in PROCESSES}
    lower_config = nameko_config(nameko_services(doc)["feedback"][1], monkeypatch)
    lower = Settings.load("feedback", lower_config).deployment
    assert Links.load(lower_config, lower).upper[0].committee == "640000"
    for name, (module, environment) in upper.items():
        config = nameko_config(environment, monkeypatch)
        assert starts(module, config) == name.removesuffix("-upper")
        deployment = Settings.load("feedback", config).deployment
        assert (deployment.committee, deployment.level) == ("640000", "province")
        assert config["AMQP_URI"].startswith("amqp://guest:guest@rabbitmq-upper:5672")
        assert config["PG_SCHEMA_PREFIX"] == "upper_"  # its own stores
        [link] = Links.load(config, deployment).lower
        assert (link.committee, link.level) == (lower.committee, lower.level)
    assert doc["services"]["rabbitmq-upper"]["profiles"] == ["upper"]
    command = doc["services"]["levels-link"]["command"]
    assert command[:3] == ["xieshang", "levels", "link"]
    option = dict(zip(command[3::2], command[4::2]))
    assert option["--lower-committee"] == "640200" and option["--upper-committee"] == "640000"
    assert "rabbitmq-upper" in option["--upper-amqp"] and "rabbitmq:" in option["--lower-amqp"]
    from tools.levels import link_command
    assert {f"--{p.name.replace('_', '-')}" for p in link_command.params} >= set(option)


def test_notify_mails_through_mailpit_unless_the_operator_names_a_relay(monkeypatch):
    from services.notify.channels import channels_from_config

    doc = compose(OPERATOR)
    mailpit = doc["services"]["mailpit"]
    assert mailpit["image"].startswith("axllent/mailpit") and not mailpit.get("profiles")
    assert mailpit["ports"] == ["127.0.0.1:8025:8025"]  # the web UI, on this host only
    notifies = {**nameko_services(doc), **nameko_services(doc, "upper")}
    for name in ("notify", "notify-upper"):
        channels = channels_from_config(nameko_config(notifies[name][1], monkeypatch))
        assert set(channels) == {"email"}, name  # no SMS without its endpoint and keys
        email = channels["email"]
        assert (email.host, email.port, email.starttls, email.ssl, email.username) == (
            "mailpit", 1025, False, False, None), name
        assert email.sender == "政协提案委员会 <noreply@xieshang.local>"
    for name, (module, environment) in nameko_services(doc).items():
        if not name.startswith("notify"):
            assert not any(key.startswith("XIESHANG_SMTP_") for key in environment), name

    relay = {**OPERATOR, "XIESHANG_SMTP_HOST": "smtp.example.org", "XIESHANG_SMTP_PORT": "465",
             "XIESHANG_SMTP_SSL": "1", "XIESHANG_SMTP_USERNAME": "notify",
             "XIESHANG_SMTP_PASSWORD": "p", "XIESHANG_MAILPIT_UI_PORT": "18025"}
    doc = compose(relay)
    email = channels_from_config(nameko_config(nameko_services(doc)["notify"][1], monkeypatch))["email"]
    assert (email.host, email.port, email.ssl, email.username) == ("smtp.example.org", 465, True, "notify")
    assert doc["services"]["mailpit"]["ports"] == ["127.0.0.1:18025:8025"]


def test_the_services_use_their_own_broker_user_made_before_them_and_subscribers_another():
    """ADR 0012: broker-users applies infra/rabbitmq/definitions.json before any service starts;
    every service of the main deployment connects as xieshang-services."""
    doc = compose(OPERATOR)
    setup = doc["services"]["broker-users"]
    assert setup["command"][:3] == ["xieshang", "broker", "users"] and setup["restart"] == "no"
    assert setup["environment"]["XIESHANG_SUBSCRIBER_AMQP_PASSWORD"] == OPERATOR["XIESHANG_SUBSCRIBER_AMQP_PASSWORD"]
    for name, (_module, env) in nameko_services(doc).items():
        assert env["AMQP_URI"].startswith("amqp://xieshang-services:services-"), name
        assert doc["services"][name]["depends_on"]["broker-users"]["condition"] == \
            "service_completed_successfully", name
    from tools.broker import load_definitions
    users = {u["name"]: u for u in load_definitions()["users"]}
    assert set(users) == {"xieshang-services", "xieshang-subscriber"}
    for env_name in ("XIESHANG_SERVICES_AMQP_PASSWORD", "XIESHANG_SUBSCRIBER_AMQP_PASSWORD"):
        with pytest.raises(ComposeError, match=env_name):
            compose({k: v for k, v in OPERATOR.items() if k != env_name})
