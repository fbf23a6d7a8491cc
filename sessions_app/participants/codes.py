"""The room code: observers join a meeting with its code, signed-in participants are admitted to it."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import User
from django.db import transaction

from ..models import Meeting, Participant
from .files import NAME_MAX

Role = Participant.Role

# --- The room code ----------------------------------------------------------------------------------


def normalize_join_code(code: str) -> str:
    """As typed from a projector: any case, spaces or hyphens."""
    return "".join(c for c in code if c.isalnum()).upper()


def meeting_for_code(code: str) -> Meeting | None:
    code = normalize_join_code(code)
    if not code or len(code) > 12:
        return None
    return Meeting.objects.filter(join_code=code).first()


@transaction.atomic
def join_as_observer(*, meeting: Meeting, name: str = "") -> User:
    """A throwaway observer account for someone who entered the room code: no password, no delegation."""
    while True:
        username = f"observer-{secrets.token_hex(5)}"
        if not User.objects.filter(username=username).exists():
            break
    user = User(username=username, first_name=" ".join(name.split())[:NAME_MAX])
    user.set_unusable_password()
    user.save()
    Participant.objects.create(user=user, role=Role.OBSERVER).meetings.add(meeting)
    return user


def admit_with_code(*, user: User, meeting: Meeting) -> None:
    """A signed-in observer who enters another meeting's room code takes part in that meeting too."""
    participant = Participant.objects.filter(user=user, role=Role.OBSERVER).first()
    if participant is not None:
        participant.meetings.add(meeting)
