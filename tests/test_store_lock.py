"""Opening a store another process holds: wait up to store.lock_wait, then a clear StoreError."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

import journeymap
from journeymap.errors import StoreError

pytestmark = pytest.mark.timeout(120)

HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
""")


@pytest.fixture()
def store(tmp_path):
    path = tmp_path / "s.duckdb"
    journeymap.open(path).close()
    return path


def _hold(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_waits_for_a_writer_that_lets_go(store):
    holder = _hold(store, 1.5)
    try:
        started = time.monotonic()
        with journeymap.open(store, read_only=True, lock_wait=60) as jm:
            assert jm.events().count().execute() == 0
        assert time.monotonic() - started >= 0.5  # it did wait for the holder
    finally:
        holder.wait(30)


def test_gives_up_at_once_with_lock_wait_zero(store):
    holder = _hold(store, 30)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="lock") as info:
            journeymap.open(store, lock_wait=0)
        assert time.monotonic() - started < 5
        assert "store.lock_wait" in str(info.value)
    finally:
        holder.kill()
        holder.wait(30)


def test_gives_up_after_lock_wait_naming_the_wait(store):
    holder = _hold(store, 30)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"waited 1 s"):
            journeymap.open(store, read_only=True, lock_wait=1)
        assert 0.5 <= time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait(30)
