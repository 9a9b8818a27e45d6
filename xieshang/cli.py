"""The `xieshang` command: run the stack, audit the logs, operate the broker.

Each group of commands lives in its own module and is imported only when used, so
`xieshang verify` never needs RabbitMQ and `xieshang up` never imports the audit code.
"""

from __future__ import annotations

import importlib

import click

# command name -> (module, attribute)
COMMANDS = {
    "up": ("xieshang.stack", "up"),
    "demo": ("xieshang.stack", "demo"),
    "history": ("xieshang.audit", "history"),
    "as-of": ("xieshang.audit", "as_of"),
    "verify": ("xieshang.audit", "verify"),
    "rebuild": ("xieshang.audit", "rebuild"),
    "relay": ("xieshang.ops", "relay"),
    "dead-letters": ("xieshang.ops", "dead_letters"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup)
def main() -> None:
    """xieshang 协商: event-sourced casework for political consultative committees."""


if __name__ == "__main__":  # pragma: no cover
    main()
