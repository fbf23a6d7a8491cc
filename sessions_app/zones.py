"""The meeting's time zone: every time on its pages and in its records is shown in it."""

import zoneinfo

from django.utils import timezone


def zone_of(meeting) -> zoneinfo.ZoneInfo | timezone.tzinfo:
    """The meeting's zone; the server's (settings.TIME_ZONE) when it has none or an unknown one."""
    name = getattr(meeting, "time_zone", "")
    try:
        return zoneinfo.ZoneInfo(name) if name else timezone.get_default_timezone()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


def activate_meeting_zone(meeting) -> None:
    """Use the meeting's zone for the rest of this request or command (exports, the kiosk page)."""
    timezone.activate(zone_of(meeting))
