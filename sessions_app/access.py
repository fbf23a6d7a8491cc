"""Who may do what. Roles live on Participant; a superuser counts as secretariat."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from .models import Delegation, Meeting, Participant

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


class ParticipantBackend(ModelBackend):
    """Django's ModelBackend, reading a signed-in user's Participant and delegation in the same query
    as the user (every request of a signed-in user needs them: its language, role and wall), where
    participant_of cost a query of its own on each request.

    ModelBackend stays listed after it, for sessions signed in before it was (Django keeps each
    session's backend): a password this backend refuses ends the chain (PermissionDenied), so the
    hasher runs once per attempt and not again in ModelBackend.
    """

    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related("participant__delegation").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and password is not None:
            raise PermissionDenied
        return user


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


# --- Meeting walls: a person sees the meetings they take part in ------------------------------------

# Officers run the instance's meetings: the secretariat (and superusers) and chairs see every meeting.
OFFICERS = {Role.CHAIR, Role.SECRETARIAT}


def visible_meetings(user: User | AnonymousUser) -> QuerySet[Meeting]:
    """The meetings the user takes part in: officers all; delegates their delegation's; others theirs."""
    if not user.is_authenticated:
        return Meeting.objects.none()
    if user.is_superuser:
        return Meeting.objects.all()
    participant = participant_of(user)
    if participant is None:
        return Meeting.objects.none()
    if participant.role in OFFICERS:
        return Meeting.objects.all()
    return Meeting.objects.filter(pk__in=Meeting.objects.filter(_taking_part(participant)).values("pk"))


def _taking_part(participant: Participant) -> Q:
    """The meetings a participant who is no officer takes part in, as a filter (rows may repeat)."""
    taking_part = Q(attendees=participant)
    if participant.role in {Role.DELEGATE, Role.HEAD} and participant.delegation_id:
        taking_part |= Q(delegations=participant.delegation_id)
    return taking_part


def takes_part(user: User | AnonymousUser, meeting: Meeting | int | str) -> bool:
    """Whether the user may read (and, by role, act in) this meeting (a Meeting, its pk or its slug).

    One flat EXISTS (no subquery: repeated rows do not matter to it): it runs on every request
    under meetings/<slug>/ (middleware.MeetingWallMiddleware), where visible_meetings' subquery cost
    as much as the rest of the request's queries together."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or role_of(user) in OFFICERS:
        return True  # no query: the common case of a console
    participant = participant_of(user)
    if participant is None:
        return False
    if isinstance(meeting, str):
        which = Q(slug=meeting)
    else:
        which = Q(pk=meeting.pk if isinstance(meeting, Meeting) else meeting)
    return Meeting.objects.filter(which).filter(_taking_part(participant)).exists()


def require_taking_part(user: User | AnonymousUser, meeting: Meeting | int | str) -> None:
    if not takes_part(user, meeting):
        raise PermissionDenied(_("You do not take part in this meeting."))
