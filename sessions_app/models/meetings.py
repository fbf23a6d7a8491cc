"""The domain: a meeting, its sessions and briefing, and what delegations contribute during it.

Models stay thin (fields, constraints, small properties); every write goes through services.py.
"""

import functools
import unicodedata

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_countries import countries
from django_countries.fields import CountryField


class LibraryAccess(models.TextChoices):
    """Whether a meeting's published practices reach the cross-meeting library, and for whom."""

    NONE = "none", _("Not in the library")
    MEMBERS = "members", _("Members of the network only")
    PUBLIC = "public", _("Public")


class Meeting(models.Model):
    class Attribution(models.TextChoices):
        ATTRIBUTED = "attributed", _("Attributed to delegations")
        CHATHAM_HOUSE = "chatham", _("Chatham House (no attribution outside the console)")

    class AnswerVisibility(models.TextChoices):
        CHAIR_ONLY = "chair", _("Chair and secretariat only")
        PUBLISHED = "published", _("Published answers visible to all delegates")

    title = models.CharField(_("title"), max_length=300)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    dates_text = models.CharField(_("dates as written"), max_length=100, blank=True)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    language = models.CharField(_("language of the notes"), max_length=10, default="en")
    attribution = models.CharField(
        _("attribution"), max_length=20, choices=Attribution.choices, default=Attribution.ATTRIBUTED
    )
    answer_visibility = models.CharField(
        _("who sees answers"), max_length=20, choices=AnswerVisibility.choices, default=AnswerVisibility.CHAIR_ONLY
    )
    delegations = models.ManyToManyField("Delegation", related_name="meetings", blank=True, verbose_name=_("delegations"))
    current_session = models.ForeignKey(
        "Session", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("live session")
    )
    current_question = models.ForeignKey(
        "Question", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("now discussing")
    )
    join_code = models.CharField(_("room code"), max_length=12, unique=True, null=True, blank=True)
    # Where the meeting is held: every time on its pages and in its records is shown in this zone.
    time_zone = models.CharField(_("time zone"), max_length=60, default=settings.TIME_ZONE)
    # The last live-event sequence number; incremented under a row lock in the event's transaction.
    last_seq = models.PositiveBigIntegerField(default=0, editable=False)
    source_name = models.CharField(_("imported from"), max_length=255, blank=True)
    library = models.CharField(
        _("practice library"), max_length=10, choices=LibraryAccess.choices, default=LibraryAccess.MEMBERS
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_date", "title"]
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")

    def __str__(self) -> str:
        return self.title

    @property
    def is_chatham_house(self) -> bool:
        return self.attribution == self.Attribution.CHATHAM_HOUSE


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


class Session(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="sessions")
    number = models.PositiveIntegerField(_("number"))
    title = models.CharField(_("title"), max_length=400)
    translations = models.JSONField(default=dict, blank=True)  # {"fr": {"title": ...}}
    scheduled_start = models.DateTimeField(_("scheduled start"), null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    floor_closed = models.BooleanField(_("speakers' list closed"), default=False)

    class Meta:
        ordering = ["meeting", "number"]
        constraints = [models.UniqueConstraint(fields=["meeting", "number"], name="unique_session_number")]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"

    @property
    def is_over(self) -> bool:
        return self.ended_at is not None


class Block(models.Model):
    """One piece of a session's briefing, in document order, with its HTML rendered at import."""

    class Kind(models.TextChoices):
        PARAGRAPH = "paragraph", _("Paragraph")
        LIST = "list", _("List")
        FIGURE = "figure", _("Figure")
        BOX = "box", _("Box")
        FOOTNOTE = "footnote", _("Footnote")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="blocks")
    # "" for the notes as imported; a language code for a translation imported beside them.
    language = models.CharField(max_length=10, blank=True, default="")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    number = models.PositiveIntegerField(null=True, blank=True)
    title = models.CharField(max_length=500, blank=True)
    text = models.TextField(blank=True, help_text="Plain text, for exports and search.")
    html = models.TextField(help_text="Safe HTML made by the importer from escaped text.")

    class Meta:
        ordering = ["session", "language", "position"]
        constraints = [models.UniqueConstraint(fields=["session", "language", "position"], name="unique_block_position")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number or ''}".strip()

    @property
    def anchor(self) -> str:
        prefix = {"paragraph": "para", "figure": "figure", "box": "box", "footnote": "fn"}.get(self.kind)
        return f"{prefix}-{self.number}" if prefix and self.number else ""


class Reference(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="references")
    number = models.PositiveIntegerField()
    text = models.TextField()
    html = models.TextField()

    class Meta:
        ordering = ["meeting", "number"]
        constraints = [models.UniqueConstraint(fields=["meeting", "number"], name="unique_reference_number")]

    def __str__(self) -> str:
        return f"[{self.number}] {self.text[:60]}"


class Question(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Not yet open")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField()
    text = models.TextField()
    html = models.TextField()
    # Translations imported beside the notes: {"fr": {"text": ..., "html": ...}}.
    translations = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)

    class Meta:
        ordering = ["session", "position"]
        constraints = [models.UniqueConstraint(fields=["session", "position"], name="unique_question_position")]

    def __str__(self) -> str:
        return self.text[:80]

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Visibility(models.TextChoices):
    PENDING = "pending", _("Not yet reviewed")
    PUBLISHED = "published", _("Published")
    HIDDEN = "hidden", _("Hidden")


class Answer(models.Model):
    """A delegation's one answer to a question; every delegate of the delegation may edit it."""

    class Kind(models.TextChoices):
        ANSWER = "answer", _("Answer")
        NO_CONTRIBUTION = "none", _("No contribution")
        IN_WRITING = "writing", _("To be sent in writing")

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    delegation = models.ForeignKey(Delegation, on_delete=models.PROTECT, related_name="answers")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ANSWER)
    text = models.TextField(blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PENDING)
    hidden_reason = models.CharField(max_length=300, blank=True)
    starred = models.BooleanField(default=False)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["question", "created_at"]
        constraints = [models.UniqueConstraint(fields=["question", "delegation"], name="one_answer_per_delegation")]

    def __str__(self) -> str:
        return f"{self.delegation} — {self.question}"


class AnswerRevision(models.Model):
    """Every saved version of an answer: who wrote what, and when."""

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="revisions")
    kind = models.CharField(max_length=10, choices=Answer.Kind.choices)
    text = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["answer", "created_at", "id"]


class Theme(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="themes")
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["meeting", "name"], name="unique_theme_name")]

    def __str__(self) -> str:
        return self.name


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


class PracticeLevel(models.TextChoices):
    NATIONAL = "national", _("National")
    REGIONAL = "regional", _("Regional")
    LOCAL = "local", _("Local")
    SEVERAL = "several", _("Several levels")


class PracticeStatus(models.TextChoices):
    IDEA = "idea", _("Idea")
    PILOT = "pilot", _("Pilot")
    RUNNING = "running", _("Running")
    EVALUATED = "evaluated", _("Evaluated")
    ENDED = "ended", _("Ended")


class Practice(models.Model):
    """A country practice a delegation shares, tied to a session and optionally a question or paragraph."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="practices")
    delegation = models.ForeignKey(Delegation, on_delete=models.PROTECT, related_name="practices")
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.SET_NULL, related_name="practices")
    paragraph = models.ForeignKey(Block, null=True, blank=True, on_delete=models.SET_NULL, related_name="practices")
    title = models.CharField(max_length=200)
    description = models.TextField()
    link = models.URLField(max_length=500, blank=True)
    themes = models.ManyToManyField(Theme, blank=True, related_name="practices")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PENDING)
    hidden_reason = models.CharField(max_length=300, blank=True)
    starred = models.BooleanField(default=False)
    # The library's fields (issue 24): all optional, completed by the delegation, also after the meeting.
    level = models.CharField(_("level of government"), max_length=10, choices=PracticeLevel.choices, blank=True)
    year_started = models.PositiveSmallIntegerField(_("year started"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=PracticeStatus.choices, blank=True)
    problem = models.TextField(_("problem it addresses"), blank=True)
    what_was_done = models.TextField(_("what was done"), blank=True)
    results = models.TextField(_("results or evidence"), blank=True)
    lessons = models.TextField(_("lessons"), blank=True)
    links = models.TextField(_("links, one per line"), blank=True)
    contact = models.CharField(_("contact point"), max_length=300, blank=True)
    contact_consent = models.BooleanField(_("the contact may be shown"), default=False)
    language = models.CharField(_("language of the text"), max_length=10, blank=True)
    answer = models.ForeignKey(
        "Answer", null=True, blank=True, on_delete=models.SET_NULL, related_name="practices", verbose_name=_("answer")
    )
    library_themes = models.ManyToManyField(
        "LibraryTheme", blank=True, related_name="practices", verbose_name=_("library themes")
    )
    verified = models.BooleanField(_("verified by the secretariat"), default=False)
    retired = models.BooleanField(_("retired from the library"), default=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged", verbose_name=_("merged into")
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["session", "created_at"]
        indexes = [
            # The library's filter and facet columns, so its counts read this index, not the rows' text.
            models.Index(
                fields=["visibility", "retired", "merged_into", "session", "delegation", "year_started", "level", "status"],
                name="practice_library",
            )
        ]

    def __str__(self) -> str:
        return self.title


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


class Submission(models.Model):
    """A client-made key per form submission, so a retry is stored once and answered as the first was."""

    key = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=40)
    object_id = models.PositiveBigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)


class ModerationAction(models.Model):
    class Action(models.TextChoices):
        PUBLISH = "publish", _("Published")
        HIDE = "hide", _("Hidden")
        STAR = "star", _("Starred as key point")
        UNSTAR = "unstar", _("Unstarred")
        DUPLICATE = "duplicate", _("Marked as duplicate")
        OPEN = "open", _("Question opened")
        CLOSE = "close", _("Question closed")
        DISCUSS = "discuss", _("Now discussing")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="moderation_log")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    answer = models.ForeignKey(Answer, null=True, blank=True, on_delete=models.CASCADE, related_name="moderation")
    practice = models.ForeignKey(Practice, null=True, blank=True, on_delete=models.CASCADE, related_name="moderation")
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.CASCADE, related_name="moderation")
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting", "created_at", "id"]


class Event(models.Model):
    """A live change, numbered per meeting, stored in the same transaction as the change itself."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=40)
    session = models.ForeignKey(Session, null=True, on_delete=models.CASCADE, related_name="+")
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting", "seq"]
        constraints = [models.UniqueConstraint(fields=["meeting", "seq"], name="unique_event_seq")]


class ConclusionRevision(models.Model):
    """The chair's draft conclusions for a session; the latest revision is the current text."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="conclusions")
    text = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "-created_at", "-id"]


class FloorRequest(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        SPEAKING = "speaking", _("Has the floor")
        DONE = "done", _("Spoke")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="floor_requests")
    delegation = models.ForeignKey(Delegation, on_delete=models.PROTECT, related_name="floor_requests")
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    position = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    speaking_seconds = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "position", "requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "delegation"],
                condition=Q(status__in=["waiting", "speaking"]),
                name="one_open_floor_request",
            )
        ]


class Poll(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        SCALE = "scale", _("Scale 0-10")
        RANKING = "ranking", _("Ranking")
        TEXT = "text", _("Short text")

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("poll", "Prepared")
        OPEN = "open", pgettext_lazy("poll", "Open")
        CLOSED = "closed", pgettext_lazy("poll", "Closed")

    class Scope(models.TextChoices):
        DELEGATION = "delegation", _("One vote per delegation")
        DELEGATE = "delegate", _("One vote per delegate")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="polls")
    prompt = models.CharField(max_length=500)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SINGLE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.DELEGATION)
    results_visible = models.BooleanField(default=False)
    open_to_observers = models.BooleanField(default=False)
    benchmark_label = models.CharField(max_length=300, blank=True)
    # Scale polls: the briefing's figure on the same 0-10 scale (choice polls keep theirs per option).
    benchmark_scale = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "created_at"]

    scale_values = range(0, 11)

    def __str__(self) -> str:
        return self.prompt

    @property
    def text_max_chars(self) -> int:
        return settings.FACILITATION["POLL_TEXT_MAX_CHARS"]


class PollOption(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveIntegerField()
    label = models.CharField(max_length=200)
    benchmark_percent = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)

    class Meta:
        ordering = ["poll", "position"]


class Vote(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    # "d<delegation id>" or "u<user id>": unique per poll, so the database refuses a second vote.
    voter_key = models.CharField(max_length=40)
    delegation = models.ForeignKey(Delegation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    options = models.ManyToManyField(PollOption, blank=True, related_name="votes")
    ranking = models.JSONField(default=list, blank=True)
    scale_value = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "voter_key"], name="one_vote_per_voter")]


class SignInToken(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="sign_in_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class ExportLog(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="export_log")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=40)
    format = models.CharField(max_length=10)
    created_at = models.DateTimeField(auto_now_add=True)


class FigureImage(models.Model):
    """An image embedded in a meeting's Word notes, shown in its figure (imported, never edited)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="figure_images")
    position = models.PositiveIntegerField()  # order in the document
    figure = models.PositiveIntegerField(null=True, blank=True)  # the figure it illustrates
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=50)
    data = models.BinaryField()

    class Meta:
        ordering = ["meeting", "position"]
        constraints = [models.UniqueConstraint(fields=["meeting", "position"], name="unique_figure_image_position")]

    def __str__(self) -> str:
        return self.name


class RecordVersion(models.Model):
    """One issue of a meeting's (or a session's) summary record: a draft for comments, or final.

    `passages` is the record as issued, frozen: [{"key", "kind", "text", "delegation"}], where
    "delegation" is the id of the delegation whose contribution the passage reports (or None).
    `changes` lists what changed from the previous version: [{"key", "before", "after"}].
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft for comments")
        FINAL = "final", _("Final")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="record_versions")
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices)
    deadline = models.DateTimeField(null=True, blank=True)
    passages = models.JSONField(default=list)
    changes = models.JSONField(default=list, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "number"]
        constraints = [models.UniqueConstraint(fields=["meeting", "session", "number"], name="unique_record_version")]

    def __str__(self) -> str:
        return f"{self.meeting} v{self.number} ({self.status})"


class RecordProposal(models.Model):
    """A delegation's correction to a passage reporting its contribution, or its comment on any passage."""

    class Kind(models.TextChoices):
        CORRECTION = "correction", _("Correction")
        COMMENT = "comment", _("Comment")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting the secretariat")
        ACCEPTED = "accepted", _("Accepted")
        EDITED = "edited", _("Accepted with edits")
        DECLINED = "declined", _("Declined")

    version = models.ForeignKey(RecordVersion, on_delete=models.CASCADE, related_name="proposals")
    delegation = models.ForeignKey(Delegation, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    key = models.CharField(max_length=40)  # the passage's key in version.passages
    kind = models.CharField(max_length=12, choices=Kind.choices)
    text = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    final_text = models.TextField(blank=True)  # what the passage becomes (accepted with edits)
    reason = models.CharField(max_length=500, blank=True)  # why it was declined; the delegation sees it
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "created_at", "id"]


class RecordAudit(models.Model):
    """Every step of a record's review, who took it and when (never edited)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="record_audit")
    version = models.ForeignKey(RecordVersion, null=True, on_delete=models.CASCADE, related_name="audit")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=40)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting", "created_at", "id"]
class OpinionRound(models.Model):
    """A round of short statements the delegations vote on (agree / disagree / pass), for a question or a session."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("round", "Open")
        PAUSED = "paused", pgettext_lazy("round", "Paused")
        CLOSED = "closed", pgettext_lazy("round", "Closed")

    class Order(models.TextChoices):
        PRIORITY = "priority", _("Fewest votes and most divisive first")
        CHAIR = "chair", _("In the chair's order")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="opinion_rounds")
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.CASCADE, related_name="opinion_rounds")
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    order = models.CharField(max_length=10, choices=Order.choices, default=Order.PRIORITY)
    proposals_allowed = models.BooleanField(default=False)
    on_screen = models.BooleanField(default=False)
    # The last computed analysis (see opinion.analysis), so pages never compute on a request.
    analysis = models.JSONField(default=dict, blank=True)
    # Until when the last analysis started holds the round's slot: in every process together, analyses
    # of a round start at most once per slot (opinion/services._claim_slot).
    analysis_slot_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "created_at"]

    def __str__(self) -> str:
        return self.title


class Statement(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting moderation")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    round = models.ForeignKey(OpinionRound, on_delete=models.CASCADE, related_name="statements")
    text = models.CharField(max_length=400)
    # Case- and space-folded text: the database refuses a duplicate within a round.
    folded = models.CharField(max_length=400)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.APPROVED)
    position = models.PositiveIntegerField(default=0)
    answer = models.ForeignKey(Answer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    proposed_by = models.ForeignKey(Delegation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["round", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["round", "folded"], name="one_statement_per_text")]

    def __str__(self) -> str:
        return self.text


class StatementVote(models.Model):
    class Choice(models.IntegerChoices):
        # Pol.is's coding: agree -1, disagree +1, pass 0.
        AGREE = -1, _("Agree")
        PASS = 0, _("Pass")
        DISAGREE = 1, _("Disagree")

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="votes")
    delegation = models.ForeignKey(Delegation, on_delete=models.PROTECT, related_name="+")
    choice = models.SmallIntegerField(choices=Choice.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["statement", "delegation"], name="one_statement_vote_per_delegation")]


class StatementVoteKey(models.Model):
    """The key a delegate's page made for one change of its delegation's vote: the change sent twice
    (over the socket, then over HTTP when the ack was late) is applied once, and a late copy of an older
    change never replaces a newer one (opinion/services.cast_statement_votes)."""

    key = models.CharField(max_length=64, unique=True)
    vote = models.ForeignKey(StatementVote, on_delete=models.CASCADE, related_name="keys")


class SettingChange(models.Model):
    """One change of one meeting setting: the audit log of the settings page (sessions_app/meeting_settings)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="setting_changes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    field = models.CharField(max_length=60)
    old_value = models.CharField(max_length=60)
    new_value = models.CharField(max_length=60)
    # Exports taken before this change no longer match the meeting's settings.
    exports_before = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class ScreenLink(models.Model):
    """A kiosk link for the room's projector: shows the room screen to whoever holds it, signs in nobody."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="screen_links")
    label = models.CharField(_("label"), max_length=100, blank=True)
    # Only the hash is stored; the token itself is shown once, in the link.
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class AnswerSynthesis(models.Model):
    """The last computed themes of a question's answers (see synthesis.themes), and the chair's edits
    of them (names, merges), which every recomputation applies again."""

    question = models.OneToOneField(Question, on_delete=models.CASCADE, related_name="synthesis")
    result = models.JSONField(default=dict, blank=True)
    # {"names": [{"members": [answer ids], "name": str}], "merges": [[anchor answer ids]]}
    edits = models.JSONField(default=dict, blank=True)
    # Incremented by every recomputation and edit: a chair's click on a theme names the version it saw.
    version = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Themes of {self.question}"
