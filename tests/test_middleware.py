"""Request-level middleware of the project."""

import threading
import time

from django.http import HttpResponse
from django.test import RequestFactory

from sessions_app.middleware import BoundedThreadsMiddleware


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
