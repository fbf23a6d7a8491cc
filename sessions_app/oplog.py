"""Operator logs: one line per event an operator needs (sign-in failures, imports, exports, moderation).

Lines carry the event's name and ids only: never a name, an e-mail, a password, a token, an address or
anything a participant wrote. In production they are JSON, one object a line (settings.LOGGING).
"""

import json
import logging

logger = logging.getLogger("sessions_app.ops")

# The fields a line may carry; anything else given is dropped, so personal data cannot slip in.
ALLOWED_FIELDS = {"meeting_id", "user_id", "object_id", "action", "kind", "format", "count", "language", "reason_code"}


def log_event(event: str, **fields) -> None:
    """Log one operator event with whitelisted id fields."""
    safe = {key: value for key, value in fields.items() if key in ALLOWED_FIELDS}
    logger.info(event, extra={"event": event, "fields": safe})


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "event", ...fields} on one line; the message for other records."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "event", None) or record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, default=str)
