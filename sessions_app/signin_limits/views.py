"""The secretariat's page of password sign-in lock-outs."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..access import require_secretariat
from . import services


@login_required
def lockouts(request):
    require_secretariat(request.user)
    context = {"rows": services.locked_accounts(), "limit": settings.AXES_FAILURE_LIMIT, "minutes": services.lockout_minutes()}
    return render(request, "sessions_app/lockouts_secretariat.html", context)


@login_required
@require_POST
def lift(request):
    require_secretariat(request.user)
    kind, value = request.POST.get("kind", ""), request.POST.get("value", "")[:255]
    try:
        services.lift_lockout(kind=kind, value=value, by=request.user)
    except ValueError:
        messages.error(request, _("Nothing to lift: choose a lock-out from the list."))
    else:
        messages.success(request, _("The lock-out is lifted: sign-in works again."))
    return redirect("signin_lockouts")


def locked_out(request, original_response=None, credentials=None):
    """What django-axes answers to a sign-in past the limit: a page in the user's language, status 429."""
    services.note_locked_out()
    return render(request, "registration/locked_out.html", {"lockout_minutes": services.lockout_minutes()}, status=429)
