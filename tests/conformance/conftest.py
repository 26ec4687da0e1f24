"""Backends for the conformance suite: every computation runs on DuckDB and on Spark local.

Use the ``backend`` fixture and ``backend.table(name, arrow_or_pandas)`` to put input data on
the engine under test; compare results with :func:`frame` (sorted pandas frame).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from dataclasses import dataclass

import ibis
import pandas as pd
import pyarrow as pa
import pytest

_counter = itertools.count()


@dataclass
class Backend:
    name: str
    con: object  # an ibis backend

    def table(self, name: str, data) -> ibis.Table:
        """Create (or replace) a table of ``data`` on this backend and return it."""
        if isinstance(data, pa.Table):
            frame_data = data.to_pandas()
        else:
            frame_data = pd.DataFrame(data)
        unique = f"{name}_{next(_counter)}"
        if self.name == "pyspark":
            arrow = data if isinstance(data, pa.Table) else pa.Table.from_pandas(frame_data, preserve_index=False)
            session = self.con._session
            session.createDataFrame(arrow).createOrReplaceTempView(unique)
            return self.con.table(unique)
        return self.con.create_table(unique, data if isinstance(data, pa.Table) else frame_data, temp=True)


@pytest.fixture(scope="session")
def spark_session():
    pyspark = pytest.importorskip("pyspark")  # noqa: F841 - installed by `make test`
    from pyspark.sql import SparkSession

    warehouse = tempfile.mkdtemp(prefix="jm-spark-")
    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("journeymap-conformance")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def duckdb_backend() -> Backend:
    return Backend("duckdb", ibis.duckdb.connect())


@pytest.fixture(scope="session")
def spark_backend(spark_session) -> Backend:
    return Backend("pyspark", ibis.pyspark.connect(spark_session))


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def backend(request) -> Backend:
    """The engine under test; conformance tests run once per engine."""
    return request.getfixturevalue(f"{request.param}_backend")


def frame(expr: ibis.Table, sort_by: list[str] | None = None) -> pd.DataFrame:
    """Execute ``expr`` and return a plain, sorted, index-free pandas frame for comparison."""
    result = expr.to_pandas()
    sort_by = sort_by or list(result.columns)
    return result.sort_values(sort_by).reset_index(drop=True)
