"""Statement rounds the delegations vote on, and the themes of a question's answers."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .contributions import Answer
from .meetings import Question, Session
from .participants import Delegation


class OpinionRound(models.Model):
    """A round of short statements the delegations vote on (agree / disagree / pass), for a question or a session."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("round", "Open")
        PAUSED = "paused", pgettext_lazy("round", "Paused")
        CLOSED = "closed", pgettext_lazy("round", "Closed")

    class Order(models.TextChoices):
        PRIORITY = "priority", _("Fewest votes and most divisive first")
        CHAIR = "chair", _("In the chair's order")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="opinion_rounds")
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.CASCADE, related_name="opinion_rounds")
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    order = models.CharField(max_length=10, choices=Order.choices, default=Order.PRIORITY)
    proposals_allowed = models.BooleanField(default=False)
    on_screen = models.BooleanField(default=False)
    # The last computed analysis (see opinion.analysis), so pages never compute on a request.
    analysis = models.JSONField(default=dict, blank=True)
    # Until when the last analysis started holds the round's slot: in every process together, analyses
    # of a round start at most once per slot (opinion/services._claim_slot).
    analysis_slot_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "created_at"]

    def __str__(self) -> str:
        return self.title


class Statement(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting moderation")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    round = models.ForeignKey(OpinionRound, on_delete=models.CASCADE, related_name="statements")
    text = models.CharField(max_length=400)
    # Case- and space-folded text: the database refuses a duplicate within a round.
    folded = models.CharField(max_length=400)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.APPROVED)
    position = models.PositiveIntegerField(default=0)
    answer = models.ForeignKey(Answer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    proposed_by = models.ForeignKey(Delegation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["round", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["round", "folded"], name="one_statement_per_text")]

    def __str__(self) -> str:
        return self.text


class StatementVote(models.Model):
    class Choice(models.IntegerChoices):
        # Pol.is's coding: agree -1, disagree +1, pass 0.
        AGREE = -1, _("Agree")
        PASS = 0, _("Pass")
        DISAGREE = 1, _("Disagree")

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="votes")
    delegation = models.ForeignKey(Delegation, on_delete=models.PROTECT, related_name="+")
    choice = models.SmallIntegerField(choices=Choice.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["statement", "delegation"], name="one_statement_vote_per_delegation")]


class StatementVoteKey(models.Model):
    """The key a delegate's page made for one change of its delegation's vote: the change sent twice
    (over the socket, then over HTTP when the ack was late) is applied once, and a late copy of an older
    change never replaces a newer one (opinion/services.cast_statement_votes)."""

    key = models.CharField(max_length=64, unique=True)
    vote = models.ForeignKey(StatementVote, on_delete=models.CASCADE, related_name="keys")


class AnswerSynthesis(models.Model):
    """The last computed themes of a question's answers (see synthesis.themes), and the chair's edits
    of them (names, merges), which every recomputation applies again."""

    question = models.OneToOneField(Question, on_delete=models.CASCADE, related_name="synthesis")
    result = models.JSONField(default=dict, blank=True)
    # {"names": [{"members": [answer ids], "name": str}], "merges": [[anchor answer ids]]}
    edits = models.JSONField(default=dict, blank=True)
    # Incremented by every recomputation and edit: a chair's click on a theme names the version it saw.
    version = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Themes of {self.question}"

