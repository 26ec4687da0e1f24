"""The README carries the sections kept in docs/*.md, the schema and every CLI command."""

import subprocess
import sys
from pathlib import Path

from journeymap.cli import app
from journeymap.schema import EVENT_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_sections_are_up_to_date_with_docs():
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "build_readme.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_canonical_column_is_documented():
    for column in EVENT_COLUMNS:
        assert f"| `{column.name}` |" in README, column.name


def test_every_cli_command_is_documented():
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    names += [f"{g.name} {c.name}" for g in app.registered_groups for c in g.typer_instance.registered_commands]
    for name in names:
        assert f"`journeymap {name}" in README, name


def test_quickstart_has_exactly_the_two_commands_and_ci_runs_the_test_one():
    quickstart = README.split("## Quickstart", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quickstart.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
