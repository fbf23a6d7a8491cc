from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def person(user) -> str:
    """A user's full name, else user name; a removed account reads as such."""
    if user is None:
        return _("a removed account")
    return user.get_full_name() or user.get_username()
