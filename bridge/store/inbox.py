"""The webhook receiver's database side: an async connection pool, the instance lookup, the grouped
insert into ``odoo.webhook_events`` and the health probe. The receiver (bridge.http.receiver) calls
the named functions here; every SQL string it runs is in this module."""
from __future__ import annotations

import asyncio

import psycopg
from psycopg.rows import dict_row

# What a lost or refused connection raises: the database is down (or restarted), not the input bad.
CONNECTION_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, OSError)

INSTANCE_SQL = ("select id, org_id, webhook_token_hash, webhook_hmac_secret_ref, active "
                "from odoo.instances where id = %s")

INSERT_SQL = """
insert into odoo.webhook_events (instance_id, idempotency_key, odoo_model, odoo_id, payload, trace_id)
select * from unnest(%s::uuid[], %s::text[], %s::text[], %s::int[], %s::jsonb[], %s::text[])
on conflict (instance_id, idempotency_key) do nothing
returning id, instance_id::text, idempotency_key"""


class Pool:
    """A few async connections handed out through a queue; broken ones are replaced on next use."""

    def __init__(self, url: str, size: int = 4):
        self.url, self.size = url, size
        self._queue: asyncio.Queue | None = None

    async def _connect(self):
        return await psycopg.AsyncConnection.connect(self.url, autocommit=True, row_factory=dict_row,
                                                     application_name="specgen-webhooks", connect_timeout=3)

    async def acquire(self, fresh: bool = False):
        """A connection: an idle one, or a new one if it is broken or ``fresh`` is asked for."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            for _ in range(self.size):
                self._queue.put_nowait(None)
        conn = await self._queue.get()
        if fresh and conn is not None:
            asyncio.ensure_future(_close_quietly(conn))
            conn = None
        if conn is None or conn.closed or conn.broken:
            try:
                conn = await self._connect()
            except BaseException:
                self._queue.put_nowait(None)
                raise
            conn._sg_fresh = True  # psycopg connections take attributes: used once, then it is "idle"
        else:
            conn._sg_fresh = False
        return conn

    def release(self, conn, broken: bool = False) -> None:
        if broken:
            asyncio.ensure_future(_close_quietly(conn))
            conn = None
            # A lost connection means the server restarted or went away: the other idle ones are as
            # dead, but would only say so when used, one failed request each. Drop them now.
            idle = []
            while not self._queue.empty():
                idle.append(self._queue.get_nowait())
            for other in idle:
                if other is not None:
                    asyncio.ensure_future(_close_quietly(other))
                self._queue.put_nowait(None)
        self._queue.put_nowait(conn)

    async def execute(self, sql: str, params, fetch: str = "all"):
        """Run one statement. A reused connection that turns out dead (the server restarted while it
        sat idle) is replaced and the statement tried once more on a fresh one, so the first request
        after a restart succeeds; a fresh connection that fails means the database is down: raised.
        Safe for the receiver's statements: a SELECT, and an INSERT ... ON CONFLICT DO NOTHING."""
        for fresh in (False, True):
            conn = await self.acquire(fresh=fresh)
            broken = False
            try:
                cur = await conn.execute(sql, params)
                return await (cur.fetchall() if fetch == "all" else cur.fetchone())
            except CONNECTION_ERRORS:
                broken = True
                if conn._sg_fresh or fresh:
                    raise
            finally:
                self.release(conn, broken)

    async def close(self) -> None:
        if self._queue is None:
            return
        while not self._queue.empty():
            conn = self._queue.get_nowait()
            if conn is not None:
                await _close_quietly(conn)


async def _close_quietly(conn) -> None:
    try:
        await conn.close()
    except Exception:
        pass


async def find_instance(pool: Pool, instance_id: str) -> dict | None:
    """The instance's webhook credentials and whether it is active; None for an unknown id."""
    return await pool.execute(INSTANCE_SQL, (instance_id,), fetch="one")


async def ping(pool: Pool) -> None:
    """Raises (psycopg.Error or OSError) when the database does not answer."""
    await pool.execute("select 1", None, fetch="one")


class GroupInsert:
    """Group commit: events arriving while an INSERT is in flight are stored together in the next one.

    Each caller still waits for the commit of its own event before it is answered (acknowledge after
    commit); batching only saves PostgreSQL work and round trips under load. Up to ``pool.size``
    INSERTs run at once.
    """

    def __init__(self, pool: Pool, max_batch: int = 256):
        self.pool, self.max_batch = pool, max_batch
        self.items: list = []
        self.running = 0

    async def submit(self, params: tuple):
        """Store one event, ``(instance_id, idempotency_key, odoo_model, odoo_id, payload, trace_id)``,
        once committed: its new id, or None for a duplicate key."""
        future = asyncio.get_running_loop().create_future()
        self.items.append((params, future))
        if self.running < self.pool.size:
            self.running += 1
            asyncio.ensure_future(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self.items:
                batch, self.items = self.items[:self.max_batch], self.items[self.max_batch:]
                await self._insert(batch)
        finally:
            self.running -= 1

    async def _insert(self, batch: list) -> None:
        retry_alone = False
        try:
            columns = [list(c) for c in zip(*(p for p, _ in batch))]
            rows = await self.pool.execute(INSERT_SQL, columns)
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
            broken = isinstance(exc, CONNECTION_ERRORS)
            retry_alone = not broken and len(batch) > 1 and isinstance(exc, psycopg.Error)
            if not retry_alone:
                _fail(batch, exc)
            rows = None
        if retry_alone:  # one bad event (e.g. a NUL in its JSON) must not fail its batch-mates
            for item in batch:
                await self._insert([item])
            return
        if rows is None:
            return
        stored = {(r["instance_id"], r["idempotency_key"]): r["id"] for r in rows}
        for params, fut in batch:
            # the first of several identical keys in one batch gets the row, the others are duplicates
            if not fut.done():
                fut.set_result(stored.pop((params[0], params[1]), None))


def _fail(batch: list, exc: BaseException) -> None:
    for _, fut in batch:
        if not fut.done():
            fut.set_exception(exc)
