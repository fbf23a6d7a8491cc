"""The audit log of a meeting's settings page."""

from django.conf import settings
from django.db import models

from .meetings import Meeting


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

