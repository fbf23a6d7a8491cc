from django import template
from django.utils.translation import get_language

from .. import fragments
from ..formatting import clock, person, stamp
from ..models import by_name as delegations_by_name
from ..models import country_name
from ..zones import zone_of

register = template.Library()


# The three filters live with the fragments' other formatting (sessions_app/formatting.py), which the
# Python-written fragments use too; registered here for the templates.
register.filter("person", person)
register.filter("clock", clock)
register.filter("stamp", stamp)


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
    return fragments.answer_card(answer, meeting, oob=oob or "", csrf_token=context.get("csrf_token") or "")


@register.simple_tag
def answer_saved_status(answer, question, oob="", saved_now=False):
    return fragments.answer_saved_status(answer or None, question=question, oob=oob or "", saved_now=bool(saved_now))


@register.simple_tag
def visibility_badges(item):
    return fragments.visibility_badges(item)


@register.simple_tag(takes_context=True)
def moderation_buttons(context, item, target, url):
    return fragments.moderation_buttons(item, target=target, url=url, csrf_token=context.get("csrf_token") or "")


@register.filter
def meeting_zone(meeting):
    """The meeting's time zone for {% timezone %} (base.html): the server's where there is no meeting."""
    return zone_of(meeting)
