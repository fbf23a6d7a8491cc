"""A meeting, its sessions and briefing (blocks, references, figures' images), and its discussion questions."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .library import LibraryAccess


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

