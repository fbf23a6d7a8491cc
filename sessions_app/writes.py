"""What every capability's writes share: the refusal they raise, the client key of a submission,
the delegation a user acts for and the cleaning of a text a user wrote.

sessions_app.services re-exports these names, where every capability imports them from.
"""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from . import access
from .models import Delegation, Submission

# A page's key for one change it sends over its socket (an answer, a vote), which its ack names:
# the same change sent again (over the socket, or then over HTTP) is stored once.
CHANGE_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


class ActionRefused(Exception):
    """A request the user may not make now (closed question, wrong role, bad input); nothing was stored.

    The message is shown to the user as it is, so it is always translated.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def claim_key(*, key: str, user: User, action: str) -> Submission | None:
    """(Shared by every capability's writes.) The earlier submission with this client key, or None after reserving the key for this one."""
    require_key(key)
    previous = Submission.objects.filter(key=key).first()
    if previous is not None:
        if previous.user_id != user.pk or previous.action != action:
            raise form_reused()
        return previous
    return None


def require_key(key: str) -> None:
    if not key or len(key) > 64:
        raise ActionRefused(_("The form is missing its submission key; reload the page and try again."))


def form_reused() -> ActionRefused:
    return ActionRefused(_("This form was already used for something else; reload the page."))


class NotADelegate(ActionRefused):
    """A delegation's change by a user who is not (or no longer) one of its delegates: a socket that
    sent it then closes (its user was read when it connected; the writes read theirs afresh)."""


def require_delegation(user: User) -> Delegation:
    """The delegation the user acts for, or a refusal (NotADelegate) for every other role."""
    delegation = access.delegation_of(user)
    if delegation is None:
        raise NotADelegate(_("Only a delegation's delegates can do this."))
    return delegation


def clean_text(text: str, *, limit: int, label: str, required: bool = True) -> str:
    """The text without control characters, stripped and within `limit`, or a refusal naming `label`."""
    # Control characters other than newlines and tabs break documents and screens alike.
    text = text or ""
    if not text.isprintable():  # most texts are one line of printable characters: no pass per character
        text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    text = text.replace("\r", "").strip()
    if required and not text:
        raise ActionRefused(_("%(label)s cannot be empty.") % {"label": label})
    if len(text) > limit:
        raise ActionRefused(
            _("%(label)s is %(count)s characters long; the limit is %(limit)s.")
            % {"label": label, "count": len(text), "limit": limit}
        )
    return text
