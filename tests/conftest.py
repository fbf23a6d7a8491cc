import os
from pathlib import Path

import pytest

# The themes of answers are computed in the background a few seconds after answers arrive; servers
# that tests start (subprocesses, real settings) would then send consoles events the tests do not
# expect. Off unless a test asks (tests/test_synthesis*.py call synthesise_question themselves).
os.environ.setdefault("SYNTHESIS_DELAY", "-1")

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


@pytest.fixture(scope="session", autouse=True)
def cache_of_this_process():
    """Tests in this process count sign-in failures in a cache of their own, which they clear: with
    REDIS_URL set, clearing the shared cache would empty the Redis database. The servers of
    test_scale_out run with the real settings and share their counts through Redis."""
    from django.test import override_settings

    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        yield


@pytest.fixture(autouse=True)
def no_background_synthesis(settings):
    settings.FACILITATION = {**settings.FACILITATION, "SYNTHESIS_DELAY": -1}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing is slow on purpose; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def release_test_database(django_db_setup, django_db_blocker):
    """PostgreSQL refuses to drop a database with open sessions; worker threads of async tests
    (Channels' database_sync_to_async) can still hold one at the end. Close them before teardown."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connection.close()


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test gets its own channel layer: pytest-asyncio gives every test a new event loop, and
    channels-redis keeps locks bound to the loop that first used the layer."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    _forget_recorded_languages()
    yield
    channel_layers.backends.clear()


def _forget_recorded_languages():
    """With Redis, the languages sockets recorded per group (sessions_app.fanout) outlive a test; the
    next test's meeting may have the same id."""
    from django.conf import settings

    if not settings.REDIS_URL:
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(client.scan_iter("asgi:languages:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
async def sockets_closed_before_the_loop_ends():
    """See live_helpers.close_sockets: used by the modules that open sockets (not autouse: the
    browser tests' Playwright runs its own event loop)."""
    yield
    from .live_helpers import close_sockets

    await close_sockets()


@pytest.fixture(autouse=True)
def english_after_each_test():
    """A request through the test client leaves its language active in this thread (Django's
    LocaleMiddleware does not reset it); the next test must not inherit French."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


def pytest_collection_modifyitems(config, items):
    """`make test` runs the suite twice, embedded (SQLite, in-memory layer) and on the services
    (DATABASE_URL, REDIS_URL). A test marked `embedded_pass` uses neither the pass's database nor its
    channel layer (pure functions, or processes it starts with settings of its own): the services
    pass leaves it out instead of running it a second time for nothing."""
    if not os.environ.get("DATABASE_URL"):
        return
    once = [item for item in items if item.get_closest_marker("embedded_pass")]
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = [item for item in items if not item.get_closest_marker("embedded_pass")]
