"""The meeting's record: exports taken, issued versions, delegations' proposals and the review's audit."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .meetings import Meeting, Session
from .participants import Delegation


class ExportLog(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="export_log")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=40)
    format = models.CharField(max_length=10)
    created_at = models.DateTimeField(auto_now_add=True)


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

