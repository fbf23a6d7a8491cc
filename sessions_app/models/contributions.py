"""What delegations contribute to a meeting (answers, practices) and what the chair does with it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .meetings import Block, Meeting, Question, Session
from .participants import Delegation


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


class ConclusionRevision(models.Model):
    """The chair's draft conclusions for a session; the latest revision is the current text."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="conclusions")
    text = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "-created_at", "-id"]

