"""The names of the domain's writes as callers import them (sessions_app.services.X): a thin module.

The writes themselves live with their capability; this module only re-exports them.
"""

from .contributions.services import (  # noqa: F401
    JOIN_CODE_ALPHABET,
    MODERATION_ACTIONS,
    ActionRefused,
    AnswerSubmission,
    QuestionNotFound,
    claim_key,
    clean_text,
    ensure_delegations,
    ensure_user,
    import_meeting_notes,
    import_notes_translation,
    moderate_answer,
    moderate_practice,
    require_delegation,
    save_conclusions,
    save_practice,
    set_discussion,
    set_question_status,
    set_user_language,
    submit_answer,
    submit_answers,
    update_meeting_settings,
)
