import threading

from django.conf import settings
from django.utils import translation

from .access import participant_of


class UserLanguageMiddleware:
    """Use the language a signed-in user chose last time; otherwise LocaleMiddleware's (the browser's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        participant = participant_of(request.user)
        if participant and participant.language:
            translation.activate(participant.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class BoundedThreadsMiddleware:
    """At most FACILITATION["REQUEST_THREADS"] requests run Django code at once in this process.

    Under ASGI each request has a thread of its own. In a burst (200 delegations submitting at once)
    two hundred threads share one interpreter lock: the request holding the database's write lock
    gets a two-hundredth of the CPU, and everyone waits for it. Past the bound, requests wait here,
    holding no lock, and run in turn. Streamed responses (exports) are sent after this returns.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.slots = threading.BoundedSemaphore(settings.FACILITATION["REQUEST_THREADS"])

    def __call__(self, request):
        with self.slots:
            return self.get_response(request)
