"""The domain: a meeting, its sessions and briefing, and what delegations contribute during it.

Models stay thin (fields, constraints, small properties); every write goes through services.py.
"""

import functools

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_countries import countries
from django_countries.fields import CountryField


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
    # The last live-event sequence number; incremented under a row lock in the event's transaction.
    last_seq = models.PositiveBigIntegerField(default=0, editable=False)
    source_name = models.CharField(_("imported from"), max_length=255, blank=True)
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
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["session", "created_at"]

    def __str__(self) -> str:
        return self.title


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
