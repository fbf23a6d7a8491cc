"""The embedded database: SQLite writers of one process queue on a lock (facilitation/sqlite)."""

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from facilitation.sqlite import base
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
