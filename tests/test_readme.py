"""The README and Makefile tell a new user the truth."""

import re

import pytest
from django.conf import settings
from django.utils.text import slugify

from sessions_app import importer

pytestmark = pytest.mark.embedded_pass  # pure: the services pass leaves it out (tests/conftest.py)

README = (settings.BASE_DIR / "README.md").read_text(encoding="utf-8")
MAKEFILE = (settings.BASE_DIR / "Makefile").read_text(encoding="utf-8")


def test_every_phony_make_target_exists():
    phony = re.search(r"^\.PHONY:(.*)$", MAKEFILE, re.M).group(1).split()
    targets = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, re.M))
    assert [name for name in phony if name not in targets] == []


def test_readme_names_the_demo_meeting_slug():
    notes = importer.parse_notes_bytes((settings.BASE_DIR / "meetings" / "oecd-cog-2023.txt").read_bytes())
    assert f"`{slugify(notes.title)[:110]}`" in README


def test_readme_says_how_to_change_host_and_port():
    assert "make run HOST=0.0.0.0 PORT=8080" in README
    assert re.search(r"^HOST \?= ", MAKEFILE, re.M) and re.search(r"^PORT \?= ", MAKEFILE, re.M)
