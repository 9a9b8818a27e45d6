"""A domain package's names, imported on first use.

A service's ``domain/__init__.py`` offers every name of its modules (``domain.fold``,
``domain.ProposalFiled``) without importing them up front: importing the published contract
``domain.events`` alone (as another service's consumer does, through the kernel's contract
lookup) then loads the events and the vocabulary, not the decisions.

    __getattr__, __dir__ = lazy_exports(__name__, globals(), {
        "events": ("registry", "ProposalFiled"),
        "state": ("Proposal", "fold"),
    })
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable, Mapping, MutableMapping


def lazy_exports(package: str, namespace: MutableMapping[str, Any],
                 table: Mapping[str, Iterable[str]]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each name in ``table`` comes from its
    submodule when first asked for (then it is kept in ``namespace``); a submodule's own name
    gives the submodule."""
    where = {name: module for module, names in table.items() for name in names}
    clashes = sorted(n for n in where if n in table)
    if clashes:
        raise ValueError(f"{package}: names that are also submodules: {clashes}")

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module protocol's name
        if name in table:
            value = importlib.import_module(f"{package}.{name}")
        elif name in where:
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted({*namespace, *where, *table})

    return __getattr__, __dir__
