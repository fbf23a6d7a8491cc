"""Reads for the participants' pages: a meeting's roster, by delegation."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Delegation, Meeting, Participant, name_key

Role = Participant.Role

# --- Reads for the pages ----------------------------------------------------------------------------


def meeting_participants(meeting: Meeting) -> QuerySet[Participant]:
    """Everyone who takes part in the meeting: its delegations' members and the roles without one."""
    return (
        Participant.objects.filter(
            Q(delegation__in=meeting.delegations.values("pk"))
            | Q(delegation__isnull=True)
            | Q(role__in=[Role.CHAIR, Role.SECRETARIAT, Role.OBSERVER])
        )
        .select_related("user", "delegation")
        .annotate(
            links_open=Count(
                "sign_in_tokens",
                filter=Q(
                    sign_in_tokens__used_at__isnull=True,
                    sign_in_tokens__revoked_at__isnull=True,
                    sign_in_tokens__expires_at__gt=timezone.now(),
                ),
            ),
            last_link_at=Max("sign_in_tokens__created_at"),
        )
    )


@dataclass
class ParticipantGroup:
    title: str
    key: str  # an id fragment for the page
    participants: list[Participant]
    delegation: Delegation | None = None


ROLE_ORDER = {Role.HEAD: 0, Role.DELEGATE: 1, Role.CHAIR: 2, Role.SECRETARIAT: 3, Role.OBSERVER: 4}


def participants_by_delegation(meeting: Meeting) -> list[ParticipantGroup]:
    """The meeting's participants grouped for the list page; a fixed number of queries."""
    groups: dict[int, ParticipantGroup] = {
        d.pk: ParticipantGroup(title=d.name, key=f"delegation-{d.code.lower()}", participants=[], delegation=d)
        for d in meeting.delegations.all()
    }
    officers = ParticipantGroup(title=_("Chair and secretariat"), key="officers", participants=[])
    observers = ParticipantGroup(title=_("Observers"), key="observers", participants=[])
    for participant in meeting_participants(meeting):
        if participant.role in {Role.CHAIR, Role.SECRETARIAT}:
            officers.participants.append(participant)
        elif participant.role == Role.OBSERVER:
            observers.participants.append(participant)
        elif participant.delegation_id in groups:
            groups[participant.delegation_id].participants.append(participant)

    def order(p: Participant):
        return (ROLE_ORDER.get(p.role, 9), (p.user.get_full_name() or p.user.username).casefold())

    ordered = [officers, *sorted(groups.values(), key=lambda g: name_key(g.title)), observers]
    for group in ordered:
        group.participants.sort(key=order)
    return ordered


def get_meeting_participant(meeting: Meeting, pk: int) -> Participant | None:
    return meeting_participants(meeting).filter(pk=pk).first()
