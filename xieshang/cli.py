"""The `xieshang` command: run the stack, audit the logs, operate the broker.

Each group of commands lives in its own module and is imported only when used, so
`xieshang verify` never needs RabbitMQ and `xieshang up` never imports the audit code.
"""

from __future__ import annotations

import importlib
import warnings

import click

# nameko runs on eventlet, which warns on import that it is in maintenance mode: we know
# (see docs/adr/0001-kernel-package.md); operators should not have to read it on every command.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

# command name -> (module, attribute)
COMMANDS = {
    "up": ("xieshang.stack", "up"),
    "demo": ("xieshang.stack", "demo_command"),
    "history": ("xieshang.audit", "history"),
    "as-of": ("xieshang.audit", "as_of"),
    "verify": ("xieshang.audit", "verify"),
    "rebuild": ("xieshang.audit", "rebuild"),
    "report": ("xieshang.audit", "report"),
    "relay": ("xieshang.ops", "relay"),
    "dead-letters": ("xieshang.ops", "dead_letters"),
    "bench": ("xieshang.benchmarks.cli", "bench"),
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
