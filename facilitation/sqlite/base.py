"""Django's SQLite backend, with the writers of one process queued on a lock instead of sleeping.

SQLite lets one transaction write at a time. Under the ASGI server each request runs in its own
thread, so when many delegates submit at once every BEGIN IMMEDIATE but one finds the database busy
and retries in SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms between tries: answers wait on
sleeps rather than on work. Here a process-wide lock is taken before BEGIN and released at COMMIT or
ROLLBACK, so the next writer starts the moment the previous one ends. Another process (a management
command during the meeting) still meets SQLite's busy timeout as before, and a writer that cannot
get the lock within that timeout goes ahead and does too.
"""

from __future__ import annotations

import threading

from django.db.backends.sqlite3 import base

_writer = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    holds_writer_lock = False

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
            return super()._close()
        finally:
            self._release_writer()

    def _release_writer(self) -> None:
        if self.holds_writer_lock:
            self.holds_writer_lock = False
            _writer.release()
