"""Participants: bulk import (CSV/XLSX), management, personal sign-in links and the room code.

Reading a file is pure (`files`: bytes in, one dict of cells per row out, `check_rows` validates
those cells without the database); `roster.preview_import` then gives each row its outcome (new,
updated, unchanged, error) against the database, and `roster.import_participants` saves it all or
nothing. Every other write is a verb_noun service of `roster` (one participant), `links` (sign-in
links, throttling), `codes` (the room code) or `accounts` (the delegations and accounts the demo and
the tests start from); `queries` reads for the pages. Views only parse, call one of them and render.

The public names of the modules are importable from the package, as they were from the single module
it replaced.
"""

from __future__ import annotations

from .files import (  # noqa: F401
    MAX_FILE_BYTES,
    MAX_ROWS,
    FORMULA_PREFIXES,
    NAME_MAX,
    EMAIL_MAX,
    ParticipantFileError,
    COLUMNS,
    REQUIRED_COLUMNS,
    HEADER_ALIASES,
    ROLE_ALIASES,
    LANGUAGE_ALIASES,
    COUNTRY_ALIASES,
    country_code,
    read_participant_file,
    ParsedRow,
    check_rows,
)
from .roster import (  # noqa: F401
    Outcome,
    Change,
    RowOutcome,
    ImportPreview,
    preview_import,
    import_participants,
    add_participant,
    update_participant,
    revoke_sign_in_links,
    deactivate_participant,
    reactivate_participant,
)
from .links import (  # noqa: F401
    FAILURE_LIMIT,
    FAILURE_WINDOW_SECONDS,
    LINK_REQUEST_LIMIT,
    hash_token,
    sign_in_path,
    IssuedLink,
    issue_sign_in_links,
    linkable_participants,
    send_sign_in_links,
    send_sign_in_link,
    request_sign_in_link,
    SignInRefused,
    check_sign_in_token,
    redeem_sign_in_token,
    is_throttled,
    note_failure,
)
from .codes import (  # noqa: F401
    normalize_join_code,
    meeting_for_code,
    join_as_observer,
    admit_with_code,
)
from .queries import (  # noqa: F401
    meeting_participants,
    ParticipantGroup,
    ROLE_ORDER,
    participants_by_delegation,
    get_meeting_participant,
)
from .accounts import (  # noqa: F401
    ensure_delegations,
    ensure_user,
    set_user_language,
)
