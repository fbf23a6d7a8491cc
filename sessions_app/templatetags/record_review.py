"""The notice of a summary record open for comments (or just issued as final), on a meeting's pages."""
from django import template

from ..records import queries

register = template.Library()


@register.inclusion_tag("sessions_app/partials/record_review_notice.html", takes_context=True)
def record_review_notice(context, meeting):
    latest = queries.latest_version(meeting)
    return {"meeting": meeting, "latest": latest}
