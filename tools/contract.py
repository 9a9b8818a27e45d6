"""`xieshang contract`: write the integration contract's files (docs/integration/, ADR 0012).

The JSON Schema of every public event type's current version (``schemas/<type>.json``), the
CloudEvents envelope's (``schemas/cloudevent.json``) and the AsyncAPI document
(``asyncapi.json``), all generated from the services' publications (xieshang.kernel.schemas).

A schema of a version, once written, is the contract of that version: if an event's shape
changed under the same version, the command refuses to overwrite it and says what to do (bump
SCHEMA_VERSION, add an upcaster); ``--rewrite`` overwrites anyway, for a change of the generator
itself. Schemas of older versions of a public type are kept (messages of those versions are out
there); files of types no longer published are removed.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import click

from tools.catalog import GATEWAY, SERVICES
from xieshang.kernel import schemas
from xieshang.kernel.integration import Publication

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "integration"
PUBLISHERS = [*SERVICES, GATEWAY]


def publications() -> list[Publication]:
    """Every service's publication (the gateway's too: its checkpoints)."""
    return [importlib.import_module(f"services.{s}.domain.events").PUBLICATION for s in PUBLISHERS]


@dataclass
class Plan:
    """What writing the contract to a folder would change."""

    write: dict[str, str] = field(default_factory=dict)      # relative path -> new text
    remove: list[str] = field(default_factory=list)          # relative paths
    reshaped: list[str] = field(default_factory=list)        # versions whose shape changed
    kept: list[str] = field(default_factory=list)            # older versions' schemas

    @property
    def changes(self) -> bool:
        return bool(self.write or self.remove)


def plan(folder: Path, pubs: list[Publication] | None = None) -> Plan:
    """Compare the generated contract with ``folder``'s files."""
    pubs = publications() if pubs is None else pubs
    files = {f"schemas/{name}": schemas.dumps(schema)
             for name, schema in schemas.schema_files(pubs).items()}
    files[schemas.ASYNCAPI_FILE] = schemas.dumps(schemas.asyncapi_document(pubs))
    current = {v[0]: v[1] for name in files
               if (v := schemas.version_of_file(name.removeprefix("schemas/")))}
    result = Plan()
    for path, text in files.items():
        old = folder / path
        before = old.read_text(encoding="utf-8") if old.exists() else None
        if before == text:
            continue
        result.write[path] = text
        if before is not None and path.startswith("schemas/") and path != f"schemas/{schemas.ENVELOPE_FILE}":
            if schemas.shape_of(json.loads(before)) != schemas.shape_of(json.loads(text)):
                result.reshaped.append(path)
    schema_dir = folder / "schemas"
    for old in sorted(schema_dir.glob("*.json")) if schema_dir.exists() else []:
        path = f"schemas/{old.name}"
        if path in files:
            continue
        version = schemas.version_of_file(old.name)
        if version and version[0] in current and version[1] < current[version[0]]:
            result.kept.append(path)
        else:
            result.remove.append(path)
    return result


def reshaped_message(paths: list[str]) -> str:
    return ("the shape of these events changed under the same schema version: "
            + ", ".join(p.removeprefix("schemas/").removesuffix(".json") for p in paths)
            + ". Bump the event class's SCHEMA_VERSION, add an upcaster from the old version "
              "(registry.upcaster), then run `xieshang contract` again. "
              "事件结构已变但 SCHEMA_VERSION 未变：请提高 SCHEMA_VERSION、添加升级函数（upcaster），"
              "再运行 `xieshang contract`。")


@click.command("contract")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=DOCS,
              show_default=True, help="the folder to write to")
@click.option("--check", is_flag=True, help="write nothing; exit 1 if the files are not up to date")
@click.option("--rewrite", is_flag=True,
              help="overwrite schemas whose shape changed under the same version (a generator change only)")
def contract(out: Path, check: bool, rewrite: bool) -> None:
    """Write the JSON Schemas and the AsyncAPI document of the public events."""
    result = plan(out)
    if result.reshaped and not rewrite:
        raise click.ClickException(reshaped_message(result.reshaped))
    if check:
        if result.changes:
            for path in [*result.write, *result.remove]:
                click.echo(f"out of date: {out / path}")
            raise click.ClickException("the contract files are out of date: run `xieshang contract` "
                                       "(契约文件已过期：请运行 `xieshang contract`)")
        click.echo(f"up to date: {out}")
        return
    for path, text in result.write.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        click.echo(f"wrote {target}")
    for path in result.remove:
        (out / path).unlink()
        click.echo(f"removed {out / path} (no longer published)")
    for path in result.kept:
        click.echo(f"kept {out / path} (an older version)")
    if not result.changes:
        click.echo(f"up to date: {out}")
