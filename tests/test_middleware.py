"""Request-level middleware of the project."""

import threading
import time

import pytest
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.test import RequestFactory

from sessions_app.middleware import BoundedThreadsMiddleware, socket_database
from sessions_app.models import Meeting


def test_requests_past_the_bound_wait_their_turn_and_all_get_answered(settings):
    settings.FACILITATION = {**settings.FACILITATION, "REQUEST_THREADS": 2}
    running, most, lock = [0], [0], threading.Lock()

    def view(request):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return HttpResponse("ok")

    middleware = BoundedThreadsMiddleware(view)
    responses = []
    threads = [threading.Thread(target=lambda: responses.append(middleware(RequestFactory().get("/")))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert [response.status_code for response in responses] == [200] * 6
    assert most[0] == 2


@socket_database
def connection_at_start_and_end():
    at_start = connection.connection
    Meeting.objects.exists()
    return at_start, connection.connection


@socket_database
def failing_query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_sockets_database_thread_keeps_a_sqlite_connection_between_calls_and_drops_a_broken_one():
    _start, opened = await connection_at_start_and_end()
    kept, _end = await connection_at_start_and_end()
    if connection.vendor == "sqlite":  # reused: no schema read and empty page cache per socket call
        assert kept is opened is not None
    else:  # PostgreSQL's went back to its pool after each call
        assert kept is None
    with pytest.raises(DatabaseError):
        await failing_query()
    after_error, _end = await connection_at_start_and_end()
    assert after_error is None
