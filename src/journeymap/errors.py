"""One exception tree for journeymap.

Every error a user can cause derives from :class:`JourneymapError` and says what went
wrong, where (file, row, column, field, customer) and how to fix it. The CLI prints
``Error: <message>`` and exits 1; the HTTP API turns the same errors into one JSON shape.

>>> err = InputError("timestamp is not a date", file="a.csv", row=3, column="ts",
...                  hint="use ISO 8601, e.g. 2024-05-01T10:00:00Z")
>>> str(err)
'a.csv, row 3, column ts: timestamp is not a date. Fix: use ISO 8601, e.g. 2024-05-01T10:00:00Z'
>>> isinstance(err, JourneymapError)
True
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "ConfigError",
    "IdentityError",
    "InputError",
    "JourneymapError",
    "RejectThresholdExceeded",
    "StoreError",
]


class JourneymapError(Exception):
    """Root of every error journeymap raises on purpose.

    ``message`` says what is wrong; ``hint`` says how to fix it. Subclasses add where.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self._render())

    def _where(self) -> str:
        return ""

    def _render(self) -> str:
        where = self._where()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text = f"{text.rstrip('.')}. Fix: {self.hint}"
        return text

    def to_dict(self) -> dict:
        """The error as one JSON-able mapping (used by the CLI's json output and the API)."""
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class ConfigError(JourneymapError):
    """A setting in journeymap.toml (or passed in code) is invalid."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None,
        field: str | None = None, hint: str | None = None,
    ) -> None:
        self.file, self.line, self.field = file, line, field
        super().__init__(message, hint=hint)

    def _where(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}" + (f":{self.line}" if self.line else ""))
        if self.field:
            parts.append(f"setting {self.field}")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "file": self.file, "line": self.line, "field": self.field}


class InputError(JourneymapError):
    """Input data is unusable: names the file, row (1-based data row) and column."""

    def __init__(
        self, message: str, *, file: str | None = None, row: int | None = None,
        column: str | None = None, hint: str | None = None,
    ) -> None:
        self.file, self.row, self.column = file, row, column
        super().__init__(message, hint=hint)

    def _where(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "file": self.file, "row": self.row, "column": self.column}


class RejectThresholdExceeded(InputError):
    """A load rejected a larger share of rows than ``ingest.max_reject_rate`` allows.

    The accepted rows are stored; the rejected rows are in the rejects table.
    """

    def __init__(self, message: str, *, summary: object = None, hint: str | None = None) -> None:
        self.summary = summary
        super().__init__(message, hint=hint)


class StoreError(JourneymapError):
    """The store (DuckDB file, Parquet folder, Spark catalog) cannot be used as asked."""


class BackendError(JourneymapError):
    """An operation is not available on this backend (for example loading into Spark)."""


class IdentityError(JourneymapError):
    """An identity question cannot be answered (for example an unknown identifier)."""
