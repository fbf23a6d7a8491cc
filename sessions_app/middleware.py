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
