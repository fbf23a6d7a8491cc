from .access import delegation_of, is_moderator, is_secretariat, role_of


def navigation(request):
    """Role flags for the top bar; computed lazily so pages that do not show it pay nothing."""
    user = request.user
    return {
        "nav_role": role_of(user),
        "nav_is_moderator": is_moderator(user),
        "nav_is_secretariat": is_secretariat(user),
        "nav_delegation": delegation_of(user),
    }
