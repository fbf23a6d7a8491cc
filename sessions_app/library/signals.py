"""The index follows every save, moderation, theme change, merge and delete of a practice.

Written in the saving transaction, so a rolled-back save leaves the index as it was."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from ..models import Practice
from . import search


def _reindex(sender, instance, **kwargs):
    if kwargs.get("raw"):
        return
    if isinstance(instance, Practice):
        search.index_practice(instance)


def _themes_changed(sender, instance, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, Practice):
        search.index_practice(instance)


def _unindex(sender, instance, **kwargs):
    search.unindex_practice(instance.pk)


def connect() -> None:
    post_save.connect(_reindex, sender=Practice, dispatch_uid="library-index-save")
    post_delete.connect(_unindex, sender=Practice, dispatch_uid="library-index-delete")
    m2m_changed.connect(_themes_changed, sender=Practice.themes.through, dispatch_uid="library-index-themes")
    m2m_changed.connect(
        _themes_changed, sender=Practice.library_themes.through, dispatch_uid="library-index-library-themes"
    )
