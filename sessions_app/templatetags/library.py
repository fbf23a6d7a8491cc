"""The practice library's facet checkboxes, built with format_html (every value escaped): a page
shows a hundred or so, and Django's template loop spent more on them than the search itself."""

from django import template
from django.utils.html import format_html_join
from django.utils.text import slugify

register = template.Library()


@register.simple_tag
def facet_options(facet):
    rows = []
    for option in facet.options:
        dom_id = f"facet-{facet.name}-{slugify(option['value'])}"
        checked = " checked" if option["selected"] else ""
        rows.append((dom_id, facet.name, option["value"], checked, dom_id, option["label"], option["count"]))
    return format_html_join(
        "\n",
        '<p><input type="checkbox" id="{}" name="{}" value="{}"{}> <label for="{}">{} <span class="count">({})</span></label></p>',
        rows,
    )
