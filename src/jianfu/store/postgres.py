"""The store on a PostgreSQL server, for workers on several machines (``JIANFU_STORE_URL``).

The schema, the batch transaction and every query are :class:`~jianfu.store.database.BaseStore`'s,
shared with the DuckDB file; this module adds what differs:

* the connection takes the store's ``?`` placeholders (psycopg's are ``%s``), strings are sent as
  ``text`` and JSON comes back as its text, as from DuckDB;
* instead of DuckDB's whole-file lock, a batch's transaction holds a transaction-level advisory lock
  per content (file sha256) it writes, and creating a table holds one for the schema. Writers of
  different contents proceed at once; two workers writing the same content do so one after the other,
  and the second replaces the first's rows with the same rows. Readers never wait (MVCC);
* a worker that dies mid-write leaves nothing: the server rolls back the open transaction when its
  connection drops, and the advisory locks go with it;
* rows go in with ``COPY``.

Needs the ``postgres`` extra: ``pip install -e ".[postgres]"`` (psycopg 3).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd

from jianfu.errors import ConfigError, StoreBusy, StoreError
from jianfu.store.database import LOCK_TIMEOUT_S, STORE_URL_ENV, BaseStore

__all__ = ["PostgresStore", "pyformat"]

#: Advisory locks of the store live in their own space (the first key of the two-key form).
_LOCK_SPACE = 0x6A66  # "jf"
#: PostgreSQL type oids read into typed columns, as DuckDB's ``.df()`` gives them.
_FLOAT, _INT4, _TIMESTAMP = 701, 23, 1114


@lru_cache(maxsize=256)
def pyformat(sql: str) -> str:
    """The store's SQL with DuckDB's ``?`` placeholders in psycopg's form.

    Outside string literals ``?`` becomes ``%s``; everywhere a literal ``%`` is doubled, since
    psycopg reads every ``%`` of a query with parameters.

    Examples
    --------
    >>> pyformat("SELECT name FROM t WHERE a = ? AND b LIKE 'x_%' AND c = '?'")
    "SELECT name FROM t WHERE a = %s AND b LIKE 'x_%%' AND c = '?'"
    """
    parts = sql.replace("%", "%%").split("'")
    # Split on quotes, even parts are outside literals ('' inside a literal keeps the parity).
    return "'".join(p.replace("?", "%s") if i % 2 == 0 else p for i, p in enumerate(parts))


def _where(url: str) -> str:
    """The server and database of ``url``, without user or password (for messages)."""
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(url)
    return f"postgresql://{info.get('host') or 'localhost'}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


class _Connection:
    """A psycopg connection that reads the store's SQL as DuckDB's connection does (``execute(sql, params)``)."""

    def __init__(self, con: Any, where: str, busy: type[Exception]):
        self._con = con
        self._where = where
        self._busy = busy

    def execute(self, sql: str, params: list | tuple | None = None) -> Any:
        """Run ``sql`` (``?`` placeholders) and return psycopg's cursor."""
        try:
            return self._con.execute(pyformat(sql), params if params is not None else ())
        except self._busy as e:
            raise StoreBusy(
                f"数据库被另一个运行占用过久 / the store {self._where} stayed busy for longer than the lock "
                "timeout; try again when the other run has finished"
            ) from e

    def cursor(self) -> Any:
        """A psycopg cursor (``%s`` placeholders), e.g. for ``COPY``."""
        return self._con.cursor()

    def close(self) -> None:
        """Close the connection; an open transaction is rolled back by the server."""
        self._con.close()


class PostgresStore(BaseStore):
    """The store in a PostgreSQL database, written by workers on any number of machines.

    Parameters
    ----------
    url
        ``postgresql://user[:password]@host[:port]/database`` (a SQLAlchemy-style
        ``postgresql+psycopg://`` is accepted too). The tables are made on first connection.
    read_only
        Refuse writes in this session (as the DuckDB store opened read-only does).
    timeout
        Seconds a write waits for a lock another run holds before :class:`~jianfu.errors.StoreBusy`.
    """

    def __init__(self, url: str, read_only: bool = False, timeout: float = LOCK_TIMEOUT_S):
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.split("+")[0] not in {"postgresql", "postgres"}:
            raise ConfigError(
                f"{STORE_URL_ENV} 应为 postgresql://用户@主机:端口/数据库 / {STORE_URL_ENV} must be a "
                "postgresql://user@host:port/database URL"
            )
        self.url = f"postgresql://{rest}"
        try:
            import psycopg
            from psycopg.types.string import StrDumper, TextLoader
        except ImportError as e:
            raise ConfigError(
                '使用 PostgreSQL 存储需要安装 psycopg：pip install -e ".[postgres]" / a PostgreSQL store needs '
                'psycopg: pip install -e ".[postgres]"'
            ) from e
        where = _where(self.url)
        try:
            con = psycopg.connect(self.url, autocommit=True, connect_timeout=30)
        except psycopg.OperationalError as e:
            raise StoreError(f"无法连接数据库 {where} / cannot connect to the store {where}: {e}") from e
        # Strings as text (so ``UNNEST(?)`` of a list has a type), JSON read back as text, as from DuckDB.
        con.adapters.register_dumper(str, StrDumper)
        con.adapters.register_loader("json", TextLoader)
        self.con = _Connection(con, where, psycopg.errors.LockNotAvailable)
        try:
            self.con.execute("SELECT set_config('lock_timeout', ?, false)", [f"{int(timeout * 1000)}ms"])
            self._ensure_schema()
            if read_only:
                self.con.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        except BaseException:
            con.close()
            raise

    def _lock(self, keys: list[str]) -> None:
        # One statement per key, in sorted order: every writer takes its locks in the same order.
        for key in keys:
            self.con.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", [_LOCK_SPACE, key])

    def _insert_frame(self, table: str, frame: pd.DataFrame) -> None:
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        # NULL, never the float NaN: PostgreSQL would store NaN as a number.
        values = frame.astype(object).where(frame.notna(), None)
        with self.con.cursor().copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
            for record in values.itertuples(index=False, name=None):
                copy.write_row(record)

    def _frame(self, sql: str, params: list | None = None) -> pd.DataFrame:
        cur = self.con.execute(sql, params)
        frame = pd.DataFrame.from_records(cur.fetchall(), columns=[d.name for d in cur.description])
        for d in cur.description:
            if d.type_code == _FLOAT:
                frame[d.name] = frame[d.name].astype("float64")
            elif d.type_code == _INT4:
                frame[d.name] = frame[d.name].astype("int32" if frame[d.name].notna().all() else "float64")
            elif d.type_code == _TIMESTAMP:
                frame[d.name] = pd.to_datetime(frame[d.name]).astype("datetime64[us]")
        return frame
