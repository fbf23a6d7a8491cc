"""Recomputing a question's themes: read its answers, run themes.synthesise, store, tell the console.

Scheduled after answers are stored (services.submit_answers) and after moderation, debounced per
question and run off the request path, as opinion/services.py does for a round's analysis. This
module imports no service module, so that the answers' services can call it.
"""

from __future__ import annotations

import logging
import threading

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from .. import compute_pool, events
from ..models import Answer, AnswerSynthesis, Question, Visibility
from . import themes

log = logging.getLogger(__name__)


def answer_texts(question: Question) -> list[themes.Text]:
    """The answers the themes are made of: written answers, not those the chair hid."""
    rows = (Answer.objects.filter(question=question, kind=Answer.Kind.ANSWER).exclude(text="")
            .exclude(visibility=Visibility.HIDDEN).values_list("pk", "delegation_id", "text", "delegation__country"))
    return [themes.Text(answer=pk, delegation=delegation, text=text, key=str(code)) for pk, delegation, text, code in rows]


@transaction.atomic
def synthesise_question(question_id: int) -> AnswerSynthesis:
    """Compute the question's themes from its stored answers and the chair's edits; store and announce them."""
    question = Question.objects.select_related("session__meeting").get(pk=question_id)
    synthesis, _created = AnswerSynthesis.objects.get_or_create(question=question)
    synthesis = AnswerSynthesis.objects.select_for_update(no_key=True).get(pk=synthesis.pk)
    synthesis.result = compute_pool.run(themes.synthesise, answer_texts(question), synthesis.edits)
    synthesis.version += 1
    synthesis.computed_at = timezone.now()
    synthesis.save(update_fields=["result", "version", "computed_at"])
    announce(synthesis, question)
    return synthesis


def announce(synthesis: AnswerSynthesis, question: Question) -> None:
    """Record the live event that re-renders the question's themes panel on the consoles."""
    events.record(meeting=question.session.meeting, type=events.SYNTHESIS_CHANGED, session=question.session,
                  payload={"question": question.pk, "version": synthesis.version})


_pending: dict[int, threading.Timer | None] = {}
_pending_lock = threading.Lock()


def schedule_synthesis(question_ids) -> None:
    """Recompute these questions' themes shortly, once for a burst of answers, in a thread of its own."""
    delay = settings.FACILITATION["SYNTHESIS_DELAY"]
    if delay < 0:  # switched off (tests call synthesise_question themselves)
        return
    loop = events.server_loop()
    for question_id in question_ids:
        with _pending_lock:
            if question_id in _pending:
                continue
            if loop is not None:
                # Under the server: a worker thread of its loop, so the event goes through its Broadcaster in order.
                _pending[question_id] = None
                work = sync_to_async(_run, thread_sensitive=False)
                loop.call_soon_threadsafe(
                    lambda q=question_id: loop.call_later(delay, lambda: loop.create_task(work(q))))
                continue
            timer = _pending[question_id] = threading.Timer(delay, _run, args=(question_id,))
            timer.daemon = True
        timer.start()


def _run(question_id: int) -> None:
    with _pending_lock:
        _pending.pop(question_id, None)
    try:
        synthesise_question(question_id)
    except Question.DoesNotExist:
        pass  # deleted meanwhile
    except Exception:  # the last themes stay shown; the next answer tries again
        log.exception("Synthesis of question %s failed", question_id)
    finally:
        close_old_connections()


def wait_for_syntheses(timeout: float = 10.0) -> None:
    """Block until the scheduled syntheses ran (tests and the demo loader)."""
    with _pending_lock:
        timers = [timer for timer in _pending.values() if timer is not None]
    for timer in timers:
        timer.join(timeout)
