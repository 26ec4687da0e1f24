"""Access keys of the collector: write keys per source and read tokens for the JSON API.

Keys live in a JSON file beside the store (``journeymap.duckdb`` -> ``journeymap.keys.json``),
not in the store: DuckDB allows one writer process and the server owns the store, while
``journeymap keys ...`` must work while the server runs. The file is rewritten atomically
(a temporary file, fsync, rename) with permissions 0600, under an advisory lock so two
concurrent ``keys create`` calls do not lose each other's key.

Only a SHA-256 of each secret is kept. A fast hash is right here: a secret is
``secrets.token_urlsafe(32)``, 256 random bits, so it cannot be guessed from its hash and a
slow password hash (bcrypt, scrypt) would only cost time on every request. The secret is shown
once, at creation, with a readable prefix: ``jmw_`` for write keys, ``jmr_`` for read tokens.

:meth:`KeyStore.verify` compares the hash of the offered secret with every stored hash with
:func:`hmac.compare_digest` and has no early exit, so the time taken does not tell which
key, or which part of one, matched. A revoked key, or a key of the other kind, fails.

HTTP credentials: Segment's libraries send the write key as the HTTP Basic user name with an
empty password (``Authorization: Basic base64("KEY:")``); read tokens come as
``Authorization: Bearer TOKEN``.

>>> import tempfile, os
>>> store = KeyStore(os.path.join(tempfile.mkdtemp(), "journeymap.keys.json"))
>>> key_id, secret = store.create("write", "website")
>>> secret.startswith("jmw_"), store.verify(secret, "write").source, store.verify(secret, "read")
(True, 'website', None)
>>> import base64
>>> basic_auth_key("Basic " + base64.b64encode(f"{secret}:".encode()).decode()) == secret
True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from ..errors import ConfigError, InputError

__all__ = [
    "KINDS",
    "KeyRecord",
    "KeyStore",
    "basic_auth_key",
    "bearer_token",
    "hash_secret",
    "keys_path_for_store",
]

KINDS = ("write", "read")
PREFIXES = {"write": "jmw_", "read": "jmr_"}
_VERSION = 1


@dataclass(frozen=True)
class KeyRecord:
    """One key as stored: never the secret, only its SHA-256 (hex)."""

    key_id: str
    kind: str
    source: str
    secret_sha256: str
    created_at: str
    revoked_at: str | None = None
    note: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def public(self) -> dict:
        """What ``keys list`` shows: everything but the hash."""
        return {"key_id": self.key_id, "kind": self.kind, "source": self.source, "note": self.note,
                "created_at": self.created_at, "revoked_at": self.revoked_at}


def hash_secret(secret: str) -> str:
    """SHA-256 of a secret, hex (a fast hash: secrets are 256 random bits, see the module doc)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def keys_path_for_store(store_path: str | os.PathLike) -> Path:
    """The key file beside a store: ``data/journeymap.duckdb`` -> ``data/journeymap.keys.json``.

    >>> keys_path_for_store("data/shop.duckdb").as_posix()
    'data/shop.keys.json'
    """
    text = str(store_path)
    if not text or text == ":memory:":
        raise ConfigError("an in-memory store has no key file", hint="pass a store file with --db")
    path = Path(text)
    return path.with_name(f"{path.stem}.keys.json")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class KeyStore:
    """The key file: create, list, revoke and verify keys.

    ``verify`` re-reads the file only when it changed (its inode, size or mtime), so a server
    sees keys created or revoked by the CLI on the next request without reading the file on
    every request.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._cache_stamp: tuple | None = None
        self._cache: list[KeyRecord] = []

    @classmethod
    def for_store(cls, store_path: str | os.PathLike) -> "KeyStore":
        return cls(keys_path_for_store(store_path))

    # -- reading -----------------------------------------------------------------------------
    def _read(self) -> list[KeyRecord]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigError(f"cannot read the key file {self.path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
            return [KeyRecord(**item) for item in data["keys"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"the key file {self.path} is damaged ({exc})",
                              hint="restore it from a backup, or move it away and create new keys") from None

    def records(self) -> list[KeyRecord]:
        """Every key, revoked ones included, in creation order (cached while the file is unchanged)."""
        try:
            st = self.path.stat()
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        if stamp is None:
            self._cache_stamp, self._cache = None, []
        elif stamp != self._cache_stamp:
            self._cache, self._cache_stamp = self._read(), stamp
        return list(self._cache)

    def list(self) -> list[dict]:
        """The keys as ``keys list`` shows them (no secrets, no hashes)."""
        return [record.public() for record in self.records()]

    # -- writing -----------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
            except ImportError:  # pragma: no cover - not POSIX
                pass
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write(self, records: list[KeyRecord]) -> None:
        payload = json.dumps({"version": _VERSION, "keys": [asdict(r) for r in records]}, indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        try:  # make the rename itself durable
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:  # pragma: no cover
            return
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def create(self, kind: str, source: str, *, note: str | None = None) -> tuple[str, str]:
        """A new key: ``(key_id, secret)``. The secret is returned once and never stored."""
        if kind not in KINDS:
            raise InputError(f"unknown key kind '{kind}'", hint="use write (collection) or read (JSON API)")
        source = (source or "").strip()
        if not source:
            raise InputError("a key needs a source (website, app, crm, an analyst's name)",
                             hint="pass --source NAME")
        secret = PREFIXES[kind] + secrets.token_urlsafe(32)
        with self._locked():
            records = self._read()
            taken = {r.key_id for r in records}
            key_id = "key_" + secrets.token_hex(6)
            while key_id in taken:  # pragma: no cover - 48 random bits
                key_id = "key_" + secrets.token_hex(6)
            records.append(KeyRecord(key_id=key_id, kind=kind, source=source, secret_sha256=hash_secret(secret),
                                     created_at=_now(), note=note or None))
            self._write(records)
        return key_id, secret

    def revoke(self, key_id: str) -> KeyRecord:
        """Revoke a key by its id; it fails every check from then on. Revoking twice is an error."""
        with self._locked():
            records = self._read()
            for index, record in enumerate(records):
                if record.key_id == key_id:
                    if record.revoked:
                        raise InputError(f"key {key_id} was already revoked at {record.revoked_at}")
                    records[index] = KeyRecord(**{**asdict(record), "revoked_at": _now()})
                    self._write(records)
                    return records[index]
        known = ", ".join(r.key_id for r in records) or "none"
        raise InputError(f"no key with id '{key_id}'", hint=f"see `journeymap keys list` (ids: {known})")

    # -- checking ----------------------------------------------------------------------------
    def verify(self, secret: str | None, kind: str) -> KeyRecord | None:
        """The live key of ``kind`` whose secret this is, or None.

        Every stored hash is compared with :func:`hmac.compare_digest` (no early exit), and the
        kind and revocation are checked only after the loop.
        """
        if kind not in KINDS:
            raise InputError(f"unknown key kind '{kind}'", hint="use write or read")
        offered = hash_secret(secret if isinstance(secret, str) else "").encode("ascii")
        found: KeyRecord | None = None
        for record in self.records():
            if hmac.compare_digest(offered, record.secret_sha256.encode("ascii")):
                found = record
        if not isinstance(secret, str) or not secret or found is None:
            return None
        if found.kind != kind or found.revoked:
            return None
        return found


def basic_auth_key(header: str | None) -> str | None:
    """The write key of a Segment-style ``Authorization: Basic base64("KEY:")`` header, or None.

    The key is the user name; the password is empty (Segment's libraries send ``KEY:``), and a
    non-empty password is tolerated and ignored. None for another scheme, bad base64, no colon,
    or an empty key.

    >>> basic_auth_key("Basic " + base64.b64encode(b"jmw_abc:").decode())
    'jmw_abc'
    >>> basic_auth_key("Bearer jmw_abc") is None, basic_auth_key("Basic !!!") is None
    (True, True)
    """
    if not isinstance(header, str):
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, colon, _password = decoded.partition(":")
    if not colon or not user:
        return None
    return user


def bearer_token(header: str | None) -> str | None:
    """The token of ``Authorization: Bearer TOKEN``, or None.

    >>> bearer_token("Bearer jmr_x"), bearer_token("Basic jmr_x")
    ('jmr_x', None)
    """
    if not isinstance(header, str):
        return None
    scheme, _, value = header.strip().partition(" ")
    token = value.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token
