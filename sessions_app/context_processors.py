from django.utils.functional import SimpleLazyObject

from .access import delegation_of, is_moderator, is_secretariat, role_of
from .navigation import last_place


def navigation(request):
    """Role flags for the top bar; computed lazily so pages that do not show it pay nothing."""
    user = request.user
    return {
        "nav_role": role_of(user),
        "nav_is_moderator": is_moderator(user),
        "nav_is_secretariat": is_secretariat(user),
        "nav_delegation": delegation_of(user),
        # Pages of no meeting (the library) link to the meeting last open: read only where shown.
        "nav_place": SimpleLazyObject(lambda: last_place(request)),
    }
