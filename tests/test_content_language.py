"""Text in the notes' language inside a page in another language carries its lang attribute."""

import re

import pytest
from django.urls import reverse

from sessions_app import polls

from .test_polls import option_ids, priority_poll, room  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def test_english_poll_prompt_in_a_french_results_caption_is_marked_english(client, room):  # noqa: F811
    poll = priority_poll(room)
    polls.cast_vote(user=room["de"], poll=poll, key="k", options=option_ids(poll, "Top priority"))
    polls.set_poll_results_visible(user=room["chair"], poll=poll, visible=True)
    client.force_login(room["chair"])
    page = client.get(reverse("screen", args=[room["meeting"].slug]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="fr">' in page
    captions = re.findall(r"<caption[^>]*>(.*?)</caption>", page, re.S)
    assert captions and all(f'Résultats du sondage\u00a0: <span lang="en">{poll.prompt}</span>' == c for c in captions)
    # Every place the prompt and the options appear, they are inside an element marked lang="en".
    assert page.count(poll.prompt) == page.count(f'lang="en">{poll.prompt}')


def test_french_notes_on_an_english_page_are_marked_french(client, room):  # noqa: F811
    meeting = room["meeting"]
    meeting.language = "fr"
    meeting.save()
    client.force_login(room["fr"])
    page = client.get(reverse("meeting", args=[meeting.slug]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in page
    assert f'<h1 lang="fr">{meeting.title}</h1>' in page
    assert f'lang="fr">{room["session"].title}</a>' in page
