from datetime import UTC, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ..models import by_name as delegations_by_name
from ..models import country_name
from ..zones import zone_of

register = template.Library()


@register.filter
def person(user) -> str:
    """A user's full name, else user name; a removed account reads as such."""
    if user is None:
        return _("a removed account")
    return user.get_full_name() or user.get_username()


@register.filter
def clock(value) -> str:
    """A time of day as the room's clock shows it: 24-hour HH:MM in the current time zone, as
    |time:"H:i" writes it, without its format machinery (about a third of a status line's render, and
    every answer's card and status line carry one)."""
    if not value:
        return ""
    return (timezone.localtime(value) if timezone.is_aware(value) else value).strftime("%H:%M")


_EPOCH, _MICROSECOND = datetime(1970, 1, 1, tzinfo=UTC), timedelta(microseconds=1)


@register.filter
def stamp(value) -> str:
    """A moment as whole microseconds since 1970 (UTC): tells two saves apart in an attribute, the
    same from a fresh instance and one read back from the database (0.6 us, |date:"U.u" 15 us)."""
    if not value:
        return ""
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return str((value - _EPOCH) // _MICROSECOND)


@register.filter
def names(delegations) -> str:
    """Delegations' names in the active language, comma-separated (the console's list of up to 193
    who have not answered: one join, not a template loop of 193 steps)."""
    language = get_language()
    return ", ".join(country_name(delegation.code, language) for delegation in delegations_by_name(delegations, language))


@register.filter
def by_name(delegations) -> list:
    """Delegations in the order of their names in the active language (French collation in French)."""
    return delegations_by_name(delegations)


@register.filter
def floor_request_of(state, delegation):
    """The delegation's open request on a speakers' list (FloorState), or None."""
    return state.open_request_of(delegation)


@register.filter
def floor_position_of(state, delegation):
    return state.position_of(delegation)


@register.filter
def in_set(value, collection) -> bool:
    return value in (collection or ())


@register.filter
def translated_html(item) -> str:
    """A question's text in the interface's language, where the notes were translated into it."""
    from django.utils import translation

    return (item.translations or {}).get(translation.get_language() or "", {}).get("html", "")


# The fragments each stored answer renders are Python functions (sessions_app/fragments.py says why);
# their templates call them through these tags.


@register.simple_tag(takes_context=True)
def answer_card(context, answer, meeting, oob=""):
    from ..fragments import answer_card

    return answer_card(answer, meeting, oob=oob or "", csrf_token=context.get("csrf_token") or "")


@register.simple_tag
def answer_saved_status(answer, question, oob="", saved_now=False):
    from ..fragments import answer_saved_status

    return answer_saved_status(answer or None, question=question, oob=oob or "", saved_now=bool(saved_now))


@register.simple_tag
def visibility_badges(item):
    from ..fragments import visibility_badges

    return visibility_badges(item)


@register.simple_tag(takes_context=True)
def moderation_buttons(context, item, target, url):
    from ..fragments import moderation_buttons

    return moderation_buttons(item, target=target, url=url, csrf_token=context.get("csrf_token") or "")


@register.filter
def meeting_zone(meeting):
    """The meeting's time zone for {% timezone %} (base.html): the server's where there is no meeting."""
    return zone_of(meeting)
