"""The secretariat's curation of the library: edit, merge duplicates, retire, verify; and the index rebuild."""

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from ..access import delegation_of, is_secretariat
from ..models import LibraryTheme, Practice, PracticeLevel, PracticeStatus, Theme
from ..services import ActionRefused
from . import facets, search

MAX_THEMES = 3
TEXT_FIELDS = ("problem", "what_was_done", "results", "lessons", "links", "contact", "language")


def _require_secretariat(user: User) -> None:
    if not is_secretariat(user):
        raise ActionRefused(_("Only the secretariat curates the library."))


@transaction.atomic
def update_library_fields(practice: Practice, *, user: User, data: dict) -> Practice:
    """Complete a practice's library fields (the delegation, also after the meeting, or the secretariat)."""
    practice = Practice.objects.select_for_update(no_key=True).get(pk=practice.pk)
    delegation = delegation_of(user)
    if not is_secretariat(user) and (delegation is None or delegation.pk != practice.delegation_id):
        raise ActionRefused(_("You can only edit your own delegation's practices."))
    level, status = data.get("level", ""), data.get("status", "")
    if level and level not in PracticeLevel.values:
        raise ActionRefused(_("Choose a level of government from the list."))
    if status and status not in PracticeStatus.values:
        raise ActionRefused(_("Choose a status from the list."))
    year = str(data.get("year_started") or "").strip()
    if year and not (year.isdigit() and 1900 <= int(year) <= 2100):
        raise ActionRefused(_("The year started must be a year such as 2021."))
    slugs = [s for s in data.get("themes", []) if s]
    themes = list(LibraryTheme.objects.filter(slug__in=slugs))
    if len(slugs) > MAX_THEMES or len(themes) != len(set(slugs)):
        raise ActionRefused(_("Choose one to three themes from the list."))
    for name in TEXT_FIELDS:
        value = str(data.get(name, "") or "").strip()
        limit = Practice._meta.get_field(name).max_length or 5000
        if len(value) > limit:
            raise ActionRefused(_("A field is too long (at most %(limit)s characters).") % {"limit": limit})
        setattr(practice, name, value)
    practice.level, practice.status = level, status
    practice.year_started = int(year) if year else None
    practice.contact_consent = bool(data.get("contact_consent"))
    practice.updated_by = user
    practice.save()
    if themes:
        practice.library_themes.set(themes)
    return practice


@transaction.atomic
def merge_practices(keeper: Practice, *, duplicate: Practice, user: User) -> Practice:
    """Merge a duplicate into `keeper`: the duplicate leaves the library but keeps its own provenance,
    which the keeper's page lists beside its own; themes are united."""
    _require_secretariat(user)
    if keeper.pk == duplicate.pk:
        raise ActionRefused(_("A practice cannot be merged into itself."))
    # Both rows locked in one order (by id): two curators merging a pair each way at once would
    # otherwise each hold one row and wait for the other's (a deadlock on PostgreSQL).
    locked = Practice.objects.select_for_update(no_key=True).filter(pk__in=[keeper.pk, duplicate.pk]).order_by("pk").in_bulk()
    keeper, duplicate = locked[keeper.pk], locked[duplicate.pk]
    if keeper.merged_into_id:
        raise ActionRefused(_("That practice was itself merged into another."))
    themes = {t.pk for t in keeper.library_themes.all()} | {t.pk for t in duplicate.library_themes.all()}
    Practice.objects.filter(merged_into=duplicate).update(merged_into=keeper)
    duplicate.merged_into = keeper
    duplicate.save(update_fields=["merged_into"])
    if len(themes) <= MAX_THEMES:
        keeper.library_themes.set(themes)
    search.index_practice(keeper)
    return keeper


@transaction.atomic
def curate_practice(practice: Practice, *, user: User, action: str) -> Practice:
    """Retire or restore a practice in the library, or mark it verified or not."""
    _require_secretariat(user)
    changes = {
        "retire": ("retired", True),
        "restore": ("retired", False),
        "verify": ("verified", True),
        "unverify": ("verified", False),
    }
    if action not in changes:
        raise ActionRefused(_("Unknown action."))
    name, value = changes[action]
    practice = Practice.objects.select_for_update(no_key=True).get(pk=practice.pk)
    setattr(practice, name, value)
    practice.save(update_fields=[name])
    return practice


def rebuild_library_index() -> int:
    """Rewrite the whole index and the facet counts from the practices; returns how many were indexed."""
    count = 0
    with transaction.atomic():
        search.clear()
        rows = Practice.objects.select_related("delegation", "session__meeting").prefetch_related(
            "themes", "library_themes"
        )
        batch = []
        for practice in rows.iterator(chunk_size=500):
            batch.append(practice)
            if len(batch) == 500:
                search.index_practices(batch)
                count, batch = count + len(batch), []
        search.index_practices(batch)
        count += len(batch)
        facets.rebuild(rows.iterator(chunk_size=500))
    if connection.vendor == "postgresql":
        # Fresh statistics, so the planner knows how common each word and value is; and, outside a
        # transaction (the command), a vacuum, so the value index is read without the table.
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        with connection.cursor() as cursor:
            for table in (search.TABLE, facets.VALUES, facets.COUNTS):
                cursor.execute(f"{command} {table}")
    return count


def index_meeting_practices(meeting) -> int:
    """Index every practice of one meeting (after a restore that bulk-created them)."""
    rows = Practice.objects.filter(session__meeting=meeting).select_related("delegation", "session__meeting")
    practices = list(rows.prefetch_related("themes", "library_themes"))
    search.index_practices(practices)
    facets.refresh(practices)
    return len(practices)


@transaction.atomic
def add_library_theme(*, user: User, name_en: str, name_fr: str) -> LibraryTheme:
    """Add a theme to the controlled vocabulary, with its English and French labels."""
    _require_secretariat(user)
    name_en, name_fr = name_en.strip()[:120], name_fr.strip()[:120]
    if not name_en or not name_fr:
        raise ActionRefused(_("Give the theme's name in English and in French."))
    slug = slugify(name_en)[:80]
    if not slug:
        raise ActionRefused(_("The English name needs at least one letter or digit."))
    if LibraryTheme.objects.filter(slug=slug).exists() or LibraryTheme.objects.filter(name_en__iexact=name_en).exists():
        raise ActionRefused(_("That theme is already in the vocabulary."))
    return LibraryTheme.objects.create(slug=slug, name_en=name_en, name_fr=name_fr)


@transaction.atomic
def map_free_theme(*, user: User, name: str, theme: LibraryTheme) -> int:
    """Give `theme` to every practice tagged with the free-text theme `name` (which has room for it);
    returns how many practices gained it."""
    _require_secretariat(user)
    gained = 0
    # Every spelling the suggestions merged (case and accents aside: SQLite's iexact folds ASCII only).
    wanted = search.fold(name).strip()
    theme_ids = [pk for pk, written in Theme.objects.values_list("pk", "name") if search.fold(written).strip() == wanted]
    practices = Practice.objects.filter(themes__in=theme_ids).distinct().prefetch_related("library_themes")
    for practice in practices:
        current = {t.pk for t in practice.library_themes.all()}
        if theme.pk not in current and len(current) < MAX_THEMES:
            practice.library_themes.add(theme)
            gained += 1
    return gained
