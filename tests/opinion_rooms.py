"""The room the opinion tests share: a session whose meeting has eight delegations, each with a delegate,
and a chair; the round's analysis is not run in the background (the tests run it themselves)."""

import pytest

from .factories import DelegationFactory, SessionFactory, make_chair, make_delegate

CODES = ("FR", "DE", "JP", "CA", "CL", "NO", "KR", "MX")


@pytest.fixture(autouse=True)
def no_background_analysis(settings):
    settings.FACILITATION = {**settings.FACILITATION, "OPINION_ANALYSIS_DELAY": -1}


def opinion_room() -> dict:
    session = SessionFactory()
    delegations = [DelegationFactory(country=code) for code in CODES]
    session.meeting.delegations.add(*delegations)
    return {"session": session, "meeting": session.meeting, "chair": make_chair(), "delegations": delegations,
            "delegates": [make_delegate(d) for d in delegations]}
