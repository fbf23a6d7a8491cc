import os
from pathlib import Path

import pytest

SEED_NOTES = Path(__file__).resolve().parent.parent / "meetings" / "oecd-cog-2023.txt"


@pytest.fixture
def seed_notes_bytes() -> bytes:
    return SEED_NOTES.read_bytes()


@pytest.fixture
def seed_meeting(db):
    """The demo meeting imported from the seed notes, with three delegations taking part."""
    from sessions_app import importer, services

    from .factories import DelegationFactory

    for code in ("FR", "DE", "JP"):
        DelegationFactory(country=code)
    return services.import_meeting_notes(importer.parse_notes_bytes(SEED_NOTES.read_bytes()), source_name="seed")


def pytest_report_header(config):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    return f"facilitation: database {engine}, channel layer {layer}, REQUIRE_SERVICES={os.environ.get('REQUIRE_SERVICES', '0')}"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing is slow on purpose; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
