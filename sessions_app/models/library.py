"""Practices across meetings: the library's access levels, its vocabulary and its kept facet counts."""

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class LibraryAccess(models.TextChoices):
    """Whether a meeting's published practices reach the cross-meeting library, and for whom."""

    NONE = "none", _("Not in the library")
    MEMBERS = "members", _("Members of the network only")
    PUBLIC = "public", _("Public")


class LibraryTheme(models.Model):
    """The library's controlled vocabulary, kept by the secretariat, with English and French labels."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_fr = models.CharField(_("name (French)"), max_length=120)

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("library theme")
        verbose_name_plural = _("library themes")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_fr if (get_language() or "en").startswith("fr") and self.name_fr else self.name_en


class LibraryFacetValue(models.Model):
    """One facet value of one practice in the library, under its meeting's access level (public or
    members): what the kept counts were made of. Written by the index's signals (library/facets.py);
    a practice outside the library has no row. A plain id, not a foreign key, so a deleted practice's
    rows are still there for its counts to be taken back."""

    practice_id = models.BigIntegerField()
    access = models.CharField(max_length=10)
    facet = models.CharField(max_length=10)
    value = models.CharField(max_length=20)

    class Meta:
        indexes = [
            models.Index(fields=["facet", "value", "access", "practice_id"], name="library_facet_by_value"),
            models.Index(fields=["practice_id", "facet", "value", "access"], name="library_facet_by_practice"),
        ]


class LibraryFacetCount(models.Model):
    """How many practices of the library (per access level) have a facet value, among all of them
    (`filter_facet` empty) or among those with one other value (a filter): the faceted page reads
    these few rows instead of counting the practices. Kept equal to the practices by library/facets.py."""

    access = models.CharField(max_length=10)
    filter_facet = models.CharField(max_length=10, blank=True)
    filter_value = models.CharField(max_length=20, blank=True)
    facet = models.CharField(max_length=10)
    value = models.CharField(max_length=20)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["filter_facet", "filter_value", "access", "facet", "value"], name="unique_library_facet_count"
            )
        ]

