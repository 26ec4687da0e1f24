"""``journeymap keys``: create, list and revoke the collector's access keys.

Write keys (``--write --source website``) only allow collection; read tokens (``--read``) allow
the JSON API. The secret is printed once, at creation; the key file beside the store keeps only
its SHA-256 (see :mod:`journeymap.collector.keys`).
"""

from __future__ import annotations

from typing import Optional

import typer

from .cli import FormatOption, app, console, err_console, state
from .collector.keys import KeyStore
from .config import load_settings
from .errors import InputError
from .output import OutputFormat, render_rows, to_json

__all__ = ["keys_app"]

keys_app = typer.Typer(no_args_is_help=True, help="Collector access keys: write keys per source, read tokens.")
app.add_typer(keys_app, name="keys")


def _store() -> KeyStore:
    return KeyStore.for_store(state.db or load_settings(state.config).store.path)


@keys_app.command("create")
def keys_create(
    write: bool = typer.Option(False, "--write", help="A write key: may only send events (Segment's write key)."),
    read: bool = typer.Option(False, "--read", help="A read token: may query the JSON API."),
    source: str = typer.Option(..., "--source", help="Who uses it: website, app, crm, an analyst's name."),
    note: Optional[str] = typer.Option(None, "--note", help="A free note kept with the key."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Create a key and print its secret (shown once; only its hash is kept)."""
    if write == read:
        raise InputError("say which kind of key: --write or --read", hint="journeymap keys create --write --source website")
    store = _store()
    key_id, secret = store.create("write" if write else "read", source, note=note)
    record = next(r for r in store.records() if r.key_id == key_id)
    row = {**record.public(), "secret": secret}
    if fmt == OutputFormat.table:
        render_rows([{k: v for k, v in row.items() if k != "secret"}], fmt, title=f"created {key_id}", console=console)
        console.print(f"secret: {secret}", markup=False, highlight=False, soft_wrap=True)
        err_console.print("Keep the secret now: it is not stored and cannot be shown again.", markup=False)
    elif fmt == OutputFormat.json:
        console.file.write(to_json(row) + "\n")
    else:
        render_rows([row], fmt, console=console)


@keys_app.command("list")
def keys_list(fmt: OutputFormat = FormatOption) -> None:
    """Every key: id, kind, source, note, created, revoked (never a secret)."""
    rows = _store().list()
    render_rows(rows, fmt, title=f"{len(rows)} keys", console=console)


@keys_app.command("revoke")
def keys_revoke(
    key_id: str = typer.Argument(..., help="The key's id, as `journeymap keys list` shows it."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Revoke a key: it is refused from the next request on."""
    record = _store().revoke(key_id)
    if fmt == OutputFormat.table:
        console.print(f"revoked {record.key_id} ({record.kind}, {record.source}) at {record.revoked_at}", markup=False)
    else:
        render_rows([record.public()], fmt, console=console)
