"""The import graph has three floors: the kernel (xieshang/) on the ground, the services
(services/<svc>/) above it, never importing each other, and the tools (tools/) on top; the
benchmarks (bench/) stand beside the product and may import any of it.

Every import counts, at module level or inside a function; relative imports are resolved to
absolute names. A module named in a string (``importlib.import_module("services.x")``, the CLI's
lazy command table) is not an import.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOORS = ("xieshang", "services", "tools", "bench")


@dataclass(frozen=True)
class Import:
    path: str    # the importing file, relative to the repository
    line: int
    target: str  # the absolute name imported

    def __str__(self) -> str:
        return f"{self.path}:{self.line} → {self.target}"


def imports_in(source: str, module: str, *, is_package: bool, path: str = "<string>") -> Iterator[Import]:
    """The imports of one module's source. ``from a import b`` yields ``a`` then ``a.b`` (``b``
    may be a submodule), so that ``from services import members`` is seen as importing
    ``services.members``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = ""
            if node.level:
                parts = package.split(".") if package else []
                if node.level - 1 >= len(parts):
                    raise AssertionError(f"{path}:{node.lineno}: relative import beyond the top-level package")
                base = ".".join(parts[:len(parts) - (node.level - 1)])
            source_module = ".".join(p for p in (base, node.module) if p)
            yield Import(path, node.lineno, source_module)
            for alias in node.names:
                if alias.name != "*":
                    yield Import(path, node.lineno, f"{source_module}.{alias.name}")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.lru_cache(maxsize=None)  # each floor is parsed once per run
def imports_of(floor: str) -> list[Import]:
    found = []
    for path in sorted((ROOT / floor).rglob("*.py")):
        found += imports_in(path.read_text(encoding="utf-8"), module_name(path),
                            is_package=path.name == "__init__.py", path=str(path.relative_to(ROOT)))
    return found


def top(name: str) -> str:
    return name.split(".", 1)[0]


def service_of(path: str) -> str | None:
    """``proposals`` for services/proposals/…; None for a module directly in services/."""
    parts = Path(path).parts
    return parts[1] if len(parts) > 2 else None


def other_service(i: Import) -> bool:
    parts = i.target.split(".")
    return parts[0] == "services" and len(parts) > 1 and parts[1] != service_of(i.path) \
        and service_of(i.path) is not None


RULES: dict[str, tuple[str, str, Callable[[Import], bool]]] = {
    "kernel": ("xieshang", "nothing in xieshang/ (the ground floor) may import services, tools or bench",
               lambda i: top(i.target) in ("services", "tools", "bench")),
    "services-apart": ("services", "a service (services/<a>/) may not import another service (services.<b>)",
                       other_service),
    "services": ("services", "nothing in services/ may import tools or bench",
                 lambda i: top(i.target) in ("tools", "bench")),
    "tools": ("tools", "nothing in tools/ may import bench (the CLI names bench.cli in a string, lazily)",
              lambda i: top(i.target) == "bench"),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_no_import_goes_down_to_up_or_across(rule):
    floor, what, breaks = RULES[rule]
    offending: dict[tuple[str, int], Import] = {}
    for i in imports_of(floor):
        if breaks(i):
            offending.setdefault((i.path, i.line), i)
    assert not offending, what + ":\n  " + "\n  ".join(map(str, offending.values()))


def test_every_floor_is_read():
    for floor in FLOORS:
        assert imports_of(floor), f"no import found under {floor}/: is the test reading the right folder?"


def test_relative_and_late_imports_are_resolved_and_strings_are_not_imports():
    source = (
        "import importlib\n"
        "from . import catalog\n"
        "from ..kernel.config import Settings\n"
        "def late():\n"
        "    from .audit import verify\n"
        "    importlib.import_module('services.members.service')\n")
    found = {(i.line, i.target) for i in imports_in(source, "pkg.tools.ops", is_package=False)}
    assert {(1, "importlib"), (2, "pkg.tools"), (2, "pkg.tools.catalog"), (3, "pkg.kernel.config"),
            (5, "pkg.tools.audit")} <= found
    assert not any("services" in target for _, target in found)
    package = {i.target for i in imports_in("from . import x\n", "tools", is_package=True)}
    assert package == {"tools", "tools.x"}


def test_the_kernel_does_not_name_what_is_above_it_even_in_a_string():
    """Strings are not imports, but a module name in a string is a dependency all the same: the
    kernel finds a service's contract through a loader the services register, never by name."""
    above = ("services", "tools", "bench")
    named = []
    for path in sorted((ROOT / "xieshang").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and any(node.value.startswith(f"{top_}.") for top_ in above):
                named.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert not named, "the kernel names modules above it:\n  " + "\n  ".join(named)


def test_services_record_only_through_the_kernels_write_path():
    """A service never appends to its store nor builds an event itself: it goes through
    ``xieshang.kernel.streams.Streams``, which stamps the context and the injected clock."""
    direct = []
    for path in sorted((ROOT / "services").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and (node.func.attr == "new_event"
                         or (node.func.attr == "append" and "store" in ast.unparse(node.func.value))):
                direct.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node.func)}")
    assert not direct, "services writing around the write path:\n  " + "\n  ".join(direct)
