"""Who takes part: delegations (with their names in the reader's language and order) and participants."""

import functools
import unicodedata

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import CountryField


@functools.lru_cache(maxsize=2048)
def country_name(code: str, language: str | None) -> str:
    """django-countries' name for `code` in `language` (the active one: the cache key says which),
    looked up once: translating a name costs about 40 microseconds, a cached one a dict lookup."""
    return str(countries.name(code))


# Letters a decomposition leaves whole, spelled out as a French or English reader files them.
_SPELLED_OUT = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l"})


@functools.lru_cache(maxsize=4096)
def name_key(name: str) -> str:
    """A key that files names as a dictionary of the language does: accents second (États-Unis
    between Estonie and Finlande, not after Zimbabwe), case ignored."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_SPELLED_OUT))
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return f"{base}\x00{name.casefold()}"  # ties (Côte / Cote) broken by the accented form, stably


def by_name(delegations, language: str | None = None) -> list:
    """Delegations (anything with .code) in the order of their names in the language (the active one)."""
    language = language or get_language()
    return sorted(delegations, key=lambda delegation: name_key(country_name(delegation.code, language)))


class Delegation(models.Model):
    country = CountryField(_("country"), unique=True)

    class Meta:
        ordering = ["country"]
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")

    def __str__(self) -> str:
        return self.name

    @property
    def code(self) -> str:
        """The ISO code. Read as stored where it is loaded: django-countries builds a Country object
        on each access to .country, which costs more than the rest of a name (the console lists up to
        193 delegations per question, on every update)."""
        stored = self.__dict__.get("country")
        return stored if isinstance(stored, str) else self.country.code

    @property
    def name(self) -> str:
        """The country's name in the active language."""
        return country_name(self.code, get_language())


class Participant(models.Model):
    """A user's part in meetings: role and, for delegates, their delegation."""

    class Role(models.TextChoices):
        DELEGATE = "delegate", _("Delegate")
        HEAD = "head", _("Head of delegation")
        OBSERVER = "observer", _("Observer")
        CHAIR = "chair", _("Chair")
        SECRETARIAT = "secretariat", _("Secretariat")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participant")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.DELEGATE)
    delegation = models.ForeignKey(
        Delegation, null=True, blank=True, on_delete=models.PROTECT, related_name="participants",
        verbose_name=_("delegation"),
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    # Meetings this person takes part in besides their delegation's (observers: the room code they entered).
    meetings = models.ManyToManyField(
        "Meeting", related_name="attendees", blank=True, verbose_name=_("meetings"),
    )

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.CheckConstraint(
                name="delegate_has_delegation",
                condition=~Q(role__in=["delegate", "head"]) | Q(delegation__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.get_username()} ({self.get_role_display()})"


class SignInToken(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="sign_in_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

