"""Who may do what. Roles live on Participant; a superuser counts as secretariat."""

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied

from .models import Delegation, Participant

Role = Participant.Role


def participant_of(user: User | AnonymousUser) -> Participant | None:
    """The user's Participant row, cached on the user object for the rest of the request."""
    if not user.is_authenticated:
        return None
    # One query with the delegation joined, kept in Django's own relation cache on the user.
    cache = user._state.fields_cache
    if "participant" not in cache:
        cache["participant"] = Participant.objects.select_related("delegation").filter(user=user).first()
    return cache["participant"]


def role_of(user: User | AnonymousUser) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.SECRETARIAT
    participant = participant_of(user)
    return participant.role if participant else None


def is_moderator(user: User | AnonymousUser) -> bool:
    """Chairs and the secretariat run the console."""
    return role_of(user) in {Role.CHAIR, Role.SECRETARIAT}


def can_view_screen(user: User | AnonymousUser) -> bool:
    """The room screen through an account: chairs, the secretariat and observers (a projector uses a kiosk link)."""
    return role_of(user) in {Role.CHAIR, Role.SECRETARIAT, Role.OBSERVER}


def is_secretariat(user: User | AnonymousUser) -> bool:
    return role_of(user) == Role.SECRETARIAT


def delegation_of(user: User | AnonymousUser) -> Delegation | None:
    """The delegation a delegate or head of delegation acts for; None for every other role."""
    participant = participant_of(user)
    if participant and participant.role in {Role.DELEGATE, Role.HEAD}:
        return participant.delegation
    return None


def require_moderator(user: User | AnonymousUser) -> None:
    if not is_moderator(user):
        raise PermissionDenied


def require_secretariat(user: User | AnonymousUser) -> None:
    if not is_secretariat(user):
        raise PermissionDenied
