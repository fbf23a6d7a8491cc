"""The index and the facet counts follow every save, moderation, theme change, merge and delete of a
practice, and every change of a meeting's library setting or of a session's meeting.

Written in the saving transaction, so a rolled-back save leaves the index and the counts as they were."""

from django.db.models.signals import m2m_changed, post_delete, post_init, post_save, pre_delete

from ..models import LibraryTheme, Meeting, Practice, Session
from . import facets, search


def _reindex(sender, instance, **kwargs):
    if kwargs.get("raw"):
        return
    if isinstance(instance, Practice):
        search.index_practice(instance)
        facets.refresh([instance])


def _themes_changed(sender, instance, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, Practice):
        search.index_practice(instance)
        facets.refresh([instance])


def _unindex(sender, instance, **kwargs):
    search.unindex_practice(instance.pk)
    facets.forget(instance.pk)
    _refresh_affected(instance)


def _remember_affected(sender, instance, **kwargs):
    # Deleting a practice un-merges its duplicates, and deleting a theme takes it from its practices,
    # both by SQL without a signal of their own: these practices are refreshed once it is done.
    related = Practice.objects.filter(merged_into=instance) if sender is Practice else instance.practices.all()
    instance._library_affected = list(related.values_list("pk", flat=True))


def _refresh_affected(instance, **kwargs):
    ids = getattr(instance, "_library_affected", [])
    if ids:
        rows = list(Practice.objects.filter(pk__in=ids).select_related("delegation", "session__meeting").prefetch_related("themes", "library_themes"))
        search.index_practices(rows)
        facets.refresh(rows)


def _theme_deleted(sender, instance, **kwargs):
    _refresh_affected(instance)


# What the facets depend on (a meeting's library setting, a session's meeting), as loaded: compared
# after a save, without a query (sessions are saved often during a meeting).
WATCHED = {Meeting: "library", Session: "meeting_id"}


def _remember(sender, instance, **kwargs):
    instance._library_before = instance.__dict__.get(WATCHED[sender])


def _saved(sender, instance, created, raw=False, **kwargs):
    now = instance.__dict__.get(WATCHED[sender])
    before, instance._library_before = getattr(instance, "_library_before", None), now
    if raw or created or before == now:
        return
    if sender is Meeting:
        facets.refresh_meeting(instance.pk)
    else:
        facets.refresh_session(instance.pk)


def connect() -> None:
    post_save.connect(_reindex, sender=Practice, dispatch_uid="library-index-save")
    post_delete.connect(_unindex, sender=Practice, dispatch_uid="library-index-delete")
    m2m_changed.connect(_themes_changed, sender=Practice.themes.through, dispatch_uid="library-index-themes")
    m2m_changed.connect(
        _themes_changed, sender=Practice.library_themes.through, dispatch_uid="library-index-library-themes"
    )
    for model in (Practice, LibraryTheme):
        pre_delete.connect(_remember_affected, sender=model, dispatch_uid=f"library-affected-{model.__name__}")
    post_delete.connect(_theme_deleted, sender=LibraryTheme, dispatch_uid="library-theme-deleted")
    for model in WATCHED:
        post_init.connect(_remember, sender=model, dispatch_uid=f"library-facets-loaded-{model.__name__}")
        post_save.connect(_saved, sender=model, dispatch_uid=f"library-facets-saved-{model.__name__}")
