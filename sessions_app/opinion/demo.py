"""The demo meeting's opinion round: statements on session 2 (mis- and disinformation) and votes from
30 delegations in three leanings, so a new user sees groups, consensus and a map."""

from __future__ import annotations

import random

from django.contrib.auth.models import User
from django.db import transaction

from ..models import Meeting, OpinionRound, Participant
from . import services

TITLE = "Where we stand on mis- and disinformation"
STATEMENTS = [
    # (text, how each of the three leanings votes: a = agree, d = disagree, p = pass)
    ("The centre of government should co-ordinate the response to disinformation across ministries.", "aaa"),
    ("Independent fact-checkers should receive public funding.", "adp"),
    ("Platforms should be legally required to remove false content within 24 hours.", "dap"),
    ("Media literacy belongs in every school curriculum.", "aaa"),
    ("Government communication should pre-bunk likely false narratives before elections.", "apd"),
    ("A dedicated unit at the centre of government should monitor foreign information manipulation.", "pad"),
    ("Regulating disinformation risks limiting free expression more than it protects democracy.", "dda"),
    ("Trust in public institutions is built mainly by transparent, timely communication.", "aap"),
    ("Citizens' assemblies should help set the rules for online political content.", "apa"),
    ("International co-operation on disinformation should go through the OECD.", "adp"),
]


@transaction.atomic
def load_demo_round(*, chair: User, meeting: Meeting) -> OpinionRound | None:
    """Create the round once (a second load keeps it) with its votes and its analysis."""
    session = meeting.sessions.filter(number=2).first() or meeting.sessions.first()
    if session is None or OpinionRound.objects.filter(session__meeting=meeting, title=TITLE).exists():
        return None
    round = services.open_round(user=chair, session=session, title=TITLE, proposals_allowed=True)
    statements = [services.add_statement(user=chair, round=round, text=text) for text, _lean in STATEMENTS]
    rng = random.Random(25)  # the same demo every time
    delegates = list(Participant.objects.filter(role=Participant.Role.DELEGATE, delegation__in=meeting.delegations.all())
                     .select_related("user", "delegation").order_by("delegation__country")[:30])
    names = {"a": "agree", "d": "disagree", "p": "pass"}
    for i, delegate in enumerate(delegates):
        leaning = i % 3
        for statement, (_text, lean) in zip(statements, STATEMENTS):
            choice = names[lean[leaning]]
            if rng.random() < 0.15:  # nobody votes exactly with their bloc
                choice = rng.choice(["agree", "disagree", "pass"])
            if rng.random() < 0.08:
                continue  # a statement not seen
            services.cast_statement_vote(user=delegate.user, statement=statement, choice=choice)
    # The votes scheduled an analysis in a thread; wait for it so the command does not end before it.
    transaction.on_commit(lambda: services.wait_for_analyses() or services.analyse_round(round.pk))
    return round
