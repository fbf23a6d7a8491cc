"""Django's SQLite backend, with the writers of one process queued on a lock instead of sleeping.

SQLite lets one transaction write at a time. Under the ASGI server each request runs in its own
thread, so when many delegates submit at once every BEGIN IMMEDIATE but one finds the database busy
and retries in SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms between tries: answers wait on
sleeps rather than on work. Here a process-wide lock is taken before BEGIN and released at COMMIT or
ROLLBACK, so the next writer starts the moment the previous one ends. Another process (a management
command during the meeting) still meets SQLite's busy timeout as before, and a writer that cannot
get the lock within that timeout goes ahead and does too.

A connection can also outlive a task on the server's long-lived worker threads (an answer batch, a
live render): see reusable_by_next_task. And one closed clean by a request (Django closes the
request's connection when it ends) goes back to a small process-wide set instead, where the next
request's thread takes it: under ASGI each request runs in a thread of its own, so each request
opened a connection (which reads the schema again, with an empty page cache) and closed it, about a
fifth of an answer post's CPU (docs/performance.md, "Ingest through Django's request path").
"""

from __future__ import annotations

import threading
import time

from django.db.backends.sqlite3 import base

_writer = threading.Lock()

IDLE_MAX = 16  # connections kept for the next request; more are closed (a burst opens what it needs)
_idle: dict[str, list] = {}  # database file -> [(sqlite3 connection, opened_at)], under _idle_lock
_idle_lock = threading.Lock()


def close_idle() -> int:
    """Close every connection kept for a next request (before the database file goes away); how many."""
    with _idle_lock:
        kept = [conn for conns in _idle.values() for conn, _opened in conns]
        _idle.clear()
    for conn in kept:
        conn.close()
    return len(kept)


class DatabaseWrapper(base.DatabaseWrapper):
    holds_writer_lock = False
    opened_at = 0.0  # time.monotonic() when the connection was opened
    KEEP_FOR_NEXT_TASK_S = 60.0

    def get_new_connection(self, conn_params):
        now = time.monotonic()
        with _idle_lock:
            kept = _idle.get(str(conn_params["database"]), [])
            while kept:  # the most recently used first: its pages are the warmest
                conn, self.opened_at = kept.pop()
                if now - self.opened_at < self.KEEP_FOR_NEXT_TASK_S:
                    break
                conn.close()
            else:
                conn = None
        if conn is not None:
            try:
                # As Django sets it up for a new connection; a migration may have turned it off meanwhile.
                conn.execute("PRAGMA foreign_keys = ON")
                return conn
            except base.Database.Error:  # closed under Django's feet meanwhile: a new one
                conn.close()
        self.opened_at = now
        return super().get_new_connection(conn_params)

    def reusable_by_next_task(self) -> bool:
        """Whether a long-lived worker thread may keep this connection for its next task instead of
        closing it as a request does: opening one costs little, but it starts with an empty page
        cache, and a batch of five answers took 11.6 ms on a new connection against 7.9 ms on a kept
        one. Not in a transaction, after an error, or once a minute old."""
        return (
            self.connection is not None and not self.in_atomic_block and self.get_autocommit()
            and not self.errors_occurred and time.monotonic() - self.opened_at < self.KEEP_FOR_NEXT_TASK_S
        )  # fmt: skip

    def _start_transaction_under_autocommit(self):
        self.holds_writer_lock = _writer.acquire(timeout=self.settings_dict["OPTIONS"].get("timeout", 5))
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_writer()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_writer()

    def _close(self):
        try:
            if self._keep_for_next_request():
                return None
            return super()._close()
        finally:
            self._release_writer()

    def _keep_for_next_request(self) -> bool:
        """Hand a clean connection (no transaction, no error, under a minute old) to the next one to connect."""
        conn = self.connection
        try:
            if conn is None or conn.in_transaction or not self.reusable_by_next_task():
                return False
        except base.Database.Error:  # closed under Django's feet (its is_usable() says yes regardless)
            return False
        with _idle_lock:
            kept = _idle.setdefault(str(self.settings_dict["NAME"]), [])
            if len(kept) >= IDLE_MAX:
                return False
            kept.append((conn, self.opened_at))
        return True

    def _release_writer(self) -> None:
        if self.holds_writer_lock:
            self.holds_writer_lock = False
            _writer.release()
