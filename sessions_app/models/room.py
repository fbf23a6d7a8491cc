"""The room: the floor, polls and the projector's kiosk links."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .meetings import Meeting, Question, Session
from .participants import Delegation


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

