"""The ``journeymap`` command: a thin shell over the public API.

Global options ``--db`` and ``--config`` come before the command; ``--format table|csv|json``
goes on every command that prints a result. A user mistake prints ``Error: ...`` (what,
where, how to fix) and exits 1, never a traceback.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from . import api
from .config import iter_settings_help, load_settings
from .errors import JourneymapError
from .ingest import LoadSummary, parse_map_option
from .output import OutputFormat, render_rows, to_json

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                  help="journeymap: customer-journey analytics and mapping.")
identity_app = typer.Typer(no_args_is_help=True, help="Identity stitching: explain and inspect.")
app.add_typer(identity_app, name="identity")

console = Console()
err_console = Console(stderr=True)
FormatOption = typer.Option(OutputFormat.table, "--format", "-f", help="Output format: table, csv or json.")


class _State:
    db: Optional[str] = None
    config: Optional[str] = None


state = _State()


@app.callback()
def _global(
    db: Optional[str] = typer.Option(None, "--db", help="DuckDB store file (default: store.path, journeymap.duckdb)."),
    config: Optional[str] = typer.Option(None, "--config", help="Settings file (default: ./journeymap.toml if present)."),
) -> None:
    state.db, state.config = db, config


@contextmanager
def _open(read_only: bool = False) -> Iterator[api.Journeymap]:
    jm = api.open_store(state.db, config=state.config, read_only=read_only)
    try:
        yield jm
    finally:
        jm.close()


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), console=err_console, transient=True,
                    disable=not err_console.is_terminal)


def _load_with_progress(jm: api.Journeymap, paths: list[str], mapping: dict | None, fmt: str | None) -> LoadSummary:
    with _progress() as progress:
        def factory(name: str, size: int):
            task = progress.add_task(Path(name).name, total=size)
            return lambda n: progress.advance(task, n)

        return jm.load(*paths, map=mapping, format=fmt, progress=factory)


def _print_summary(summary: LoadSummary, fmt: OutputFormat) -> None:
    if fmt != OutputFormat.table:
        if fmt == OutputFormat.json:
            console.file.write(to_json(summary.to_dict()) + "\n")
        else:
            render_rows([vars(f) for f in summary.files], fmt)
        return
    rows = [{"file": f.file, "format": f.format, "rows": f.rows_read, "accepted": f.accepted,
             "duplicates": f.duplicates, "rejected": f.rejected} for f in summary.files]
    render_rows(rows, fmt, title=f"load {summary.load_id}")
    rate = f"{summary.reject_rate:.2%}"
    console.print(f"{summary.rows_read:,} rows read: {summary.accepted:,} new, {summary.duplicates:,} already stored, "
                  f"{summary.rejected:,} rejected ({rate}) in {summary.seconds:.1f}s", markup=False)
    for warning in summary.warnings:
        err_console.print(f"Warning: {warning}", markup=False)
    if summary.rejected:
        console.print("See the rejected rows with: journeymap rejects", markup=False)


@app.command()
def load(
    paths: List[str] = typer.Argument(..., help="Files or folders (.csv .tsv .parquet .ndjson .jsonl .json, .gz too)."),
    map_: Optional[str] = typer.Option(None, "--map", help="Your column names -> canonical: customer=user_id,ts=timestamp."),
    input_format: Optional[str] = typer.Option(None, "--input-format", help="Force the format: csv, tsv, parquet, ndjson, json."),
    max_reject_rate: Optional[float] = typer.Option(None, "--max-reject-rate", help="Override ingest.max_reject_rate (0-1)."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Load touchpoint files into the store; exits 1 when the reject rate passes the threshold."""
    mapping = parse_map_option(map_) if map_ else None
    with _open() as jm:
        if max_reject_rate is not None:
            jm.settings.ingest.max_reject_rate = max_reject_rate
        summary = _load_with_progress(jm, paths, mapping, input_format)
    _print_summary(summary, fmt)
    if summary.exceeded:
        err_console.print(
            f"Error: {summary.reject_rate:.2%} of rows were rejected, more than ingest.max_reject_rate "
            f"({summary.max_reject_rate:.2%}). The accepted rows are stored; fix the rejected ones "
            "(journeymap rejects) or raise --max-reject-rate.", markup=False)
        raise typer.Exit(1)


@app.command()
def rejects(
    file: Optional[str] = typer.Option(None, "--file", help="Only rows of this file."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many rows."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """List rejected rows: file, row, column, reason, value and the raw record."""
    with _open(read_only=True) as jm:
        table = jm.rejects()
        if file:
            table = table.filter(table.file == file)
        rows = table.order_by(["file", "row"]).limit(limit).to_pyarrow().to_pylist()
        total = (jm.rejects().filter(jm.rejects().file == file) if file else jm.rejects()).count().to_pyarrow().as_py()
    columns = ["file", "row", "column", "reason", "value"] if fmt == OutputFormat.table else None
    render_rows(rows, fmt, title=f"{total:,} rejected rows" + (f" (first {limit})" if total > limit else ""),
                columns=columns)


@app.command()
def info(fmt: OutputFormat = FormatOption) -> None:
    """What the store holds: events, customers, identifiers, rejects, date range, channels."""
    with _open(read_only=True) as jm:
        data = jm.info()
    if fmt == OutputFormat.json:
        console.file.write(to_json(data) + "\n")
        return
    rows = [{"what": k, "value": v} for k, v in data.items() if not isinstance(v, dict)]
    rows += [{"what": f"identifiers: {k}", "value": v} for k, v in data["identifiers_by_type"].items()]
    rows += [{"what": f"channel: {k}", "value": v} for k, v in data["channels"].items()]
    render_rows(rows, fmt, title="journeymap store")


@app.command()
def channels(fmt: OutputFormat = FormatOption) -> None:
    """The channel rules in force, in precedence order (first match wins)."""
    from .channels import describe_rules, load_channel_rules

    settings = load_settings(state.config)
    render_rows(describe_rules(load_channel_rules(settings.channels)), fmt, title="channel rules")


@app.command()
def config(fmt: OutputFormat = FormatOption) -> None:
    """Every setting of journeymap.toml with its type, default and help."""
    rows = [{"setting": n, "type": t, "default": d, "help": h} for n, t, d, h in iter_settings_help()]
    render_rows(rows, fmt, title="journeymap.toml settings")


@app.command()
def export(folder: str = typer.Argument(..., help="Folder to write <table>/part-00000.parquet into.")) -> None:
    """Write the store's tables as Parquet, for journeymap.connect() on Spark or a warehouse."""
    with _open(read_only=True) as jm:
        written = jm.export(folder)
    console.print(f"wrote {len(written)} tables under {folder}", markup=False)


@identity_app.command("explain")
def identity_explain(
    identifier: str = typer.Argument(..., help="Any identifier value: a user id, anonymous id, email hash..."),
    id_type: Optional[str] = typer.Option(None, "--type", help="Its type, when the value exists under several."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Show the chain of links that joined IDENTIFIER to its customer."""
    with _open(read_only=True) as jm:
        explanation = jm.explain_identity(identifier, id_type)
    data = explanation.to_dict() if hasattr(explanation, "to_dict") else vars(explanation)
    if fmt == OutputFormat.json:
        console.file.write(to_json(data) + "\n")
        return
    console.print(f"customer_id: {data['customer_id']}", markup=False)
    render_rows(data["steps"], fmt, title=f"how {identifier} joined {data['customer_id']}")


@identity_app.command("overlinked")
def identity_overlinked(fmt: OutputFormat = FormatOption) -> None:
    """Identifiers kept out of merging by the over-merge guard (shared devices, test accounts)."""
    with _open(read_only=True) as jm:
        rows = jm.overlinked().order_by(["id_type", "id_value"]).to_pyarrow().to_pylist()
    render_rows(rows, fmt, title=f"{len(rows)} over-linked identifiers")


@app.command()
def demo(
    customers: int = typer.Option(10_000, "--customers", min=1, help="How many customers to simulate."),
    seed: int = typer.Option(42, "--seed", help="Random seed (same seed, same data)."),
    out: Optional[str] = typer.Option(None, "--out", help="Folder for the generated files (default: <store>-demo-files beside the store)."),
    files_only: bool = typer.Option(False, "--files-only", help="Only write the Parquet/CSV files (for huge runs)."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Generate a realistic multi-channel population, load it, and print a summary."""
    from .demo import PLANTED_EFFECTS, DemoSpec, write_demo_files
    from .demo_report import demo_report

    # a stable folder beside the store, so running the demo again finds its rows already stored
    store_path = Path(state.db or load_settings(state.config).store.path)
    folder = Path(out) if out else store_path.with_name(f"{store_path.stem}-demo-files")
    spec = DemoSpec(customers=customers, seed=seed)
    with _progress() as progress:
        task = progress.add_task("generating touchpoints", total=None)
        files = write_demo_files(folder, spec, progress=lambda n: progress.update(task, completed=n))
    if files_only:
        console.print(f"wrote {files.events:,} touchpoints to {files.events_dir} and {files.crm_rows:,} CRM rows "
                      f"to {files.crm_csv}", markup=False)
        return
    with _open() as jm:
        web = _load_with_progress(jm, [str(files.events_dir)], None, None)
        crm = _load_with_progress(jm, [str(files.crm_csv)], files.crm_column_map, None)
        report = demo_report(jm, [web, crm], PLANTED_EFFECTS)
    if fmt == OutputFormat.json:
        console.file.write(to_json(report) + "\n")
        return
    for title, rows in report["tables"].items():
        render_rows(rows, fmt, title=title)
    if fmt == OutputFormat.table:
        console.print(f"Store: {state.db or 'journeymap.duckdb'}  ·  files: {folder}", markup=False)


from . import cli_stages  # noqa: E402,F401  (registers `stages` and `map`)
from . import cli_behaviour, cli_funnels, cli_paths, cli_retention  # noqa: E402,F401  (the behavioural commands)
from . import cli_attribution  # noqa: E402,F401  (`attribution`)
from . import cli_keys  # noqa: E402,F401  (`keys`)
from . import cli_serve  # noqa: E402,F401  (`serve`)


def main() -> None:
    """Entry point: run the app, turning journeymap errors into `Error: ...` and exit 1."""
    try:
        app()
    except JourneymapError as exc:
        err_console.print(f"Error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    # run the imported module's app: `python -m` executes this file as __main__, a second copy
    # that the other command modules (cli_stages) do not register on
    from journeymap.cli import main as _main

    _main()
