"""Peer learning on a session page and the console: practices from earlier meetings on its themes."""

from django import template

from ..library import queries

register = template.Library()


@register.simple_tag(takes_context=True)
def peer_practices(context, session, limit=5):
    request = context.get("request")
    if request is None or session is None:
        return []
    return queries.practices_for_session(request.user, session, limit=limit)
