"""The embedded database: SQLite writers of one process queue on a lock (facilitation/sqlite)."""

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from facilitation.sqlite import base
from sessions_app.events import end_worker_task
from sessions_app.models import Delegation

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded default only (DATABASE_URL is set)")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_all_commit_and_the_lock_is_free_after():
    codes = ["FR", "DE", "JP", "CA", "CL", "NO", "KR", "MX", "IT", "ES", "AT", "BE", "CH", "CZ", "DK", "EE"]
    errors = []

    def write(mine):
        try:
            for code in mine:
                with transaction.atomic():
                    Delegation.objects.create(country=code)
        except Exception as error:  # reported below, with the thread's code list
            errors.append((mine, error))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write, args=(codes[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert Delegation.objects.count() == len(codes)
    assert not base._writer.locked()


@pytest.mark.django_db(transaction=True)
def test_a_failed_transaction_releases_the_lock():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Delegation.objects.create(country="FR")
        assert base._writer.locked()
        1 / 0
    assert not base._writer.locked()
    assert not Delegation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_connection_only_while_it_is_clean_and_young(monkeypatch):
    Delegation.objects.create(country="FR")
    assert connection.reusable_by_next_task()
    with transaction.atomic():
        assert not connection.reusable_by_next_task()  # mid-transaction: never handed on
    connection.errors_occurred = True
    assert not connection.reusable_by_next_task()
    connection.errors_occurred = False
    monkeypatch.setattr(connection, "opened_at", connection.opened_at - base.DatabaseWrapper.KEEP_FOR_NEXT_TASK_S)
    assert not connection.reusable_by_next_task()


@pytest.mark.django_db(transaction=True)
def test_a_worker_thread_reuses_its_connection_for_the_next_task():
    raw = []

    def task():  # as an answer batch or a live render ends on the server's worker threads
        Delegation.objects.exists()
        raw.append(connection.connection)
        end_worker_task()

    def worker():
        task()
        task()
        connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=10)
    assert len(raw) == 2 and raw[0] is raw[1]


def _in_a_new_thread(task):
    """Run `task` in a thread of its own, as Django runs each request under ASGI, closing the thread's
    connection after it as the request's end does; what it returned."""
    out = []

    def run():
        try:
            out.append(task())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    return out[0]


@pytest.mark.django_db(transaction=True)
def test_the_next_requests_thread_takes_the_connection_the_last_one_closed():
    base.close_idle()
    first = _in_a_new_thread(lambda: (Delegation.objects.exists(), connection.connection)[1])
    second = _in_a_new_thread(lambda: (Delegation.objects.create(country="FR"), connection.connection)[1])
    assert second is first
    assert Delegation.objects.filter(country="FR").exists()  # and what it wrote is committed


@pytest.mark.django_db(transaction=True)
def test_a_connection_closed_after_an_error_or_in_a_transaction_is_not_handed_on():
    base.close_idle()

    def broken():
        Delegation.objects.exists()
        connection.errors_occurred = True
        return connection.connection

    def mid_transaction():
        transaction.atomic().__enter__()  # left open: the close happens inside it
        Delegation.objects.create(country="DE")
        return connection.connection

    first = _in_a_new_thread(broken)
    second = _in_a_new_thread(mid_transaction)
    third = _in_a_new_thread(lambda: (Delegation.objects.exists(), connection.connection)[1])
    assert len({id(first), id(second), id(third)}) == 3
    assert not Delegation.objects.filter(country="DE").exists()  # rolled back, never committed by a next user
    assert not base._writer.locked()


@pytest.mark.django_db(transaction=True)
def test_close_idle_closes_the_kept_connections():
    base.close_idle()
    _in_a_new_thread(Delegation.objects.exists)
    assert base.close_idle() == 1
    assert base.close_idle() == 0


@pytest.mark.django_db(transaction=True)
def test_a_connection_that_died_under_django_is_not_handed_on():
    base.close_idle()

    def died():
        Delegation.objects.exists()
        connection.connection.close()  # as a broken file handle would
        return connection.connection

    dead = _in_a_new_thread(died)
    assert _in_a_new_thread(lambda: (Delegation.objects.exists(), connection.connection)[1]) is not dead
