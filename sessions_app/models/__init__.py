"""The domain: a meeting, its sessions and briefing, and what delegations contribute during it.

Models stay thin (fields, constraints, small properties); every write goes through the services.
One module per capability; every public name is importable from here, as it was from the single
module this package replaced. Django finds the models of the app label "sessions_app" once these
imports have run (their tables and the migrations are unchanged).
"""

from .library import (  # noqa: F401
    LibraryAccess,
    LibraryFacetCount,
    LibraryFacetValue,
    LibraryTheme,
)
from .participants import (  # noqa: F401
    Delegation,
    Participant,
    SignInToken,
    by_name,
    country_name,
    name_key,
)
from .meetings import (  # noqa: F401
    Block,
    FigureImage,
    Meeting,
    Question,
    Reference,
    Session,
)
from .contributions import (  # noqa: F401
    Answer,
    AnswerRevision,
    ConclusionRevision,
    ModerationAction,
    Practice,
    PracticeLevel,
    PracticeStatus,
    Submission,
    Theme,
    Visibility,
)
from .events import (  # noqa: F401
    Event,
)
from .room import (  # noqa: F401
    FloorRequest,
    Poll,
    PollOption,
    ScreenLink,
    Vote,
)
from .records import (  # noqa: F401
    ExportLog,
    RecordAudit,
    RecordProposal,
    RecordVersion,
)
from .opinion import (  # noqa: F401
    AnswerSynthesis,
    OpinionRound,
    Statement,
    StatementVote,
    StatementVoteKey,
)
from .meeting_settings import (  # noqa: F401
    SettingChange,
)
