"""What the benchmark scripts share (they run as ``python benchmarks/NAME.py``, so this module is on
their path)."""

from __future__ import annotations

import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def describe_code() -> str:
    """The commit measured (and whether the work tree had changes under src/)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=HERE.parent, capture_output=True,
                               text=True).stdout.strip()
        return f"journeymap {head}" + (" + uncommitted changes in src/" if dirty else "")
    except OSError:
        return "journeymap"


def peers_python(venv: Path, packages: list[str], *, upgrade: bool) -> str:
    """The python of ``venv`` with the newest ``packages`` (the peers a benchmark compares with;
    created on first use, upgraded unless ``upgrade`` is False). Peers are installed, never vendored."""
    import sys

    python = venv / "bin" / "python"
    if not python.exists():
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        upgrade = True
    if upgrade:
        proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "-U", "pip", *packages],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"installing {', '.join(packages)} into {venv} failed:\n{proc.stderr[-4000:]}")
    return str(python)
