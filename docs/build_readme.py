"""Copy the sections kept in docs/*.md into README.md between their markers.

    python docs/build_readme.py          # rewrite README.md
    python docs/build_readme.py --check  # exit 1 if README.md is out of date (a test runs this)

A marker pair looks like ``<!-- BEGIN docs/channels.md -->`` ... ``<!-- END docs/channels.md -->``.
Links relative to docs/ are rewritten relative to the repository root.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = re.compile(r"<!-- BEGIN (docs/[\w.-]+\.md) -->\n.*?<!-- END \1 -->", re.S)


def build(text: str) -> str:
    def section(match: re.Match) -> str:
        name = match.group(1)
        body = (ROOT / name).read_text(encoding="utf-8").strip()
        body = body.replace("](../", "](").replace("](images/", "](docs/images/")
        return f"<!-- BEGIN {name} -->\n{body}\n<!-- END {name} -->"

    return MARKER.sub(section, text)


def main() -> int:
    current = README.read_text(encoding="utf-8")
    fresh = build(current)
    if "--check" in sys.argv:
        if fresh != current:
            print("README.md is out of date: run python docs/build_readme.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
