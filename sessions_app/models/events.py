"""The live events of a meeting, numbered per meeting (sessions_app/events.py records them)."""

from django.db import models

from .meetings import Meeting, Session


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

