"""`xieshang broker users`: the broker's users and what each may do (infra/rabbitmq/definitions.json).

Services get a user of their own; subscriber systems (OA, 督查, 12345) a user that may read only
the integration exchange ``xieshang.integration`` and make their own queues (``subscriber.*``
or server-named): binding a queue to a service's internal exchange needs read permission on it,
which the subscriber user does not have, so the broker refuses (ACCESS_REFUSED). Passwords are
given by environment variable (the file names which) and never written anywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import click

from .levels import Endpoint, LevelsError, _call, _check

DEFINITIONS = Path(__file__).resolve().parent.parent / "infra" / "rabbitmq" / "definitions.json"


def load_definitions(path: Path = DEFINITIONS) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def apply_definitions(endpoint: Endpoint, passwords: Mapping[str, str],
                      definitions: Mapping[str, Any] | None = None,
                      rename: Mapping[str, str] | None = None) -> list[str]:
    """Create or update the users (with ``passwords`` by user name), their permissions on the
    endpoint's vhost, and the exchanges; returns the user names. ``rename`` maps a user name of
    the file to another (tests make their own users)."""
    definitions = definitions or load_definitions()
    rename = rename or {}
    vhost = endpoint.vhost
    for exchange in definitions.get("exchanges", ()):
        body = {k: exchange[k] for k in ("type", "durable", "auto_delete", "internal", "arguments")}
        _check(endpoint, _call(endpoint, "PUT", "exchanges", vhost, exchange["name"], json=body),
               f"declaring exchange {exchange['name']}")
    names = []
    for user in definitions.get("users", ()):
        name = rename.get(user["name"], user["name"])
        password = passwords.get(user["name"])
        if not password:
            raise LevelsError(f"用户 {name} 缺少密码 (no password for the broker user {name}: set "
                              f"{user.get('password_env')})")
        _check(endpoint, _call(endpoint, "PUT", "users", name,
                               json={"password": password, "tags": user.get("tags", "")}),
               f"creating user {name}")
        _check(endpoint, _call(endpoint, "PUT", "permissions", vhost, name, json=user["permissions"]),
               f"setting the permissions of {name}")
        names.append(name)
    return names


@click.group("broker")
def broker() -> None:
    """The broker's users and permissions 消息代理的用户与权限."""


@broker.command("users")
@click.option("--amqp-uri", envvar="AMQP_URI", default="amqp://guest:guest@127.0.0.1:5672/",
              show_default=True, help="The deployment's broker and vhost (an administrator's login).")
@click.option("--management", "management_url", default=None,
              help="Its management API (default: XIESHANG_MANAGEMENT_URL, else port 15672).")
def users(amqp_uri: str, management_url: str | None) -> None:
    """Create the services' and subscribers' users with their permissions (definitions.json);
    the passwords come from the environment variables the file names."""
    definitions = load_definitions()
    passwords = {u["name"]: os.environ.get(u["password_env"], "") for u in definitions["users"]}
    endpoint = Endpoint(amqp_uri, management_url, "")
    try:
        names = apply_definitions(endpoint, passwords, definitions)
    except LevelsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"用户已就绪 (users ready on vhost {endpoint.vhost!r}): {', '.join(names)}")
