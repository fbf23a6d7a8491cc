"""The domain's shared writes under the names their callers import (sessions_app.services.X).

A thin module: each write lives with its capability, and this one only re-exports them, so that
every `from ..services import ActionRefused` and `services.submit_answer(...)` keeps working.
  writes                      ActionRefused, client keys, the acting delegation, clean text
  participants.accounts       delegations and accounts (the demo, the tests)
  meetings.services           storing a meeting's parsed notes and their translations
  contributions.services      answers and practices
  contributions.moderation    moderation, questions opened and closed, the discussion, conclusions
(update_meeting_settings moved to meeting_settings.services, its one caller.)
"""

# First: the modules below import capabilities that import ActionRefused from here.
from .writes import (  # noqa: F401
    CHANGE_KEY,
    ActionRefused,
    NotADelegate,
    claim_key,
    clean_text,
    require_delegation,
)
from .participants.accounts import ensure_delegations, ensure_user, set_user_language  # noqa: F401
from .meetings.services import JOIN_CODE_ALPHABET, import_meeting_notes, import_notes_translation  # noqa: F401
from .contributions.services import (  # noqa: F401
    AnswerSubmission,
    QuestionNotFound,
    save_practice,
    submit_answer,
    submit_answers,
)
from .contributions.moderation import (  # noqa: F401
    MODERATION_ACTIONS,
    moderate_answer,
    moderate_practice,
    save_conclusions,
    set_discussion,
    set_question_status,
)
