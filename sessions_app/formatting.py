"""Formatting that both templates (as filters) and the Python-written fragments use."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _


def person(user) -> str:
    """A user's full name, else user name; a removed account reads as such."""
    if user is None:
        return _("a removed account")
    return user.get_full_name() or user.get_username()


def clock(value) -> str:
    """A time of day as the room's clock shows it: 24-hour HH:MM in the current time zone, as
    |time:"H:i" writes it, without its format machinery (about a third of a status line's render, and
    every answer's card and status line carry one)."""
    if not value:
        return ""
    return (timezone.localtime(value) if timezone.is_aware(value) else value).strftime("%H:%M")


_EPOCH, _MICROSECOND = datetime(1970, 1, 1, tzinfo=UTC), timedelta(microseconds=1)


def stamp(value) -> str:
    """A moment as whole microseconds since 1970 (UTC): tells two saves apart in an attribute, the
    same from a fresh instance and one read back from the database (0.6 us, |date:"U.u" 15 us)."""
    if not value:
        return ""
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return str((value - _EPOCH) // _MICROSECOND)
