from django.conf import settings
from django.http import HttpResponseBadRequest
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from .. import services


@require_POST
def set_language(request):
    """Django's set_language, plus remembering the choice on the signed-in user's account."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest("Unknown language.")
    if request.user.is_authenticated:
        services.set_user_language(user=request.user, language=language)
    return django_set_language(request)
