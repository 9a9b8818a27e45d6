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
    "up": ("tools.stack", "up"),
    "demo": ("tools.stack", "demo_command"),
    "history": ("tools.audit", "history"),
    "as-of": ("tools.audit", "as_of"),
    "verify": ("tools.audit", "verify"),
    "rebuild": ("tools.audit", "rebuild"),
    "report": ("tools.audit", "report"),
    "opinion-report": ("tools.audit", "opinion_report"),
    "relay": ("tools.ops", "relay"),
    "dead-letters": ("tools.ops", "dead_letters"),
    "levels": ("tools.levels", "levels"),
    "broker": ("tools.broker", "broker"),
    "event-index": ("tools.event_index", "event_index"),
    "contract": ("tools.contract", "contract"),
    # The benchmarks live beside the product (bench/), installed with it from a checkout.
    "bench": ("bench.cli", "bench"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module_name, attr = COMMANDS[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if not exc.name or not (module_name == exc.name or module_name.startswith(exc.name + ".")):
                raise  # a missing import inside an existing module is a real error
            return _not_installed(name, module_name.split(".")[0])
        return getattr(module, attr)


def _not_installed(name: str, package: str) -> click.Command:
    """Stands in for a command whose package is not installed here (bench/ is not in the image)."""

    @click.command(name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                   help=f"(not installed here: needs the {package}/ folder of a checkout)")
    def missing() -> None:
        raise click.ClickException(f"`xieshang {name}` needs the {package} package, which is not "
                                   f"installed here: run it from a checkout (pip install -e '.[{package}]')")
    return missing


@click.group(cls=LazyGroup)
def main() -> None:
    """xieshang 协商: event-sourced casework for political consultative committees."""


if __name__ == "__main__":  # pragma: no cover
    main()
