"""Where the project leans on a private part of the stack, a test that fails when that part changes.

Each override is taken only on the versions it was tested with (a version check, tested here) and
pyproject.toml pins that range; an upgrade past it fails here first: test the new version, then
widen the check and the pin together.
"""

import ast
import inspect
import textwrap

import pytest
from channels import layers
from django.db.backends.sqlite3 import base as sqlite_base

from facilitation.layers import InMemoryChannelLayer
from facilitation.sqlite.base import DatabaseWrapper
from sessions_app.live import broadcaster, consumers, fanout

pytestmark = pytest.mark.embedded_pass  # pure: the services pass leaves it out (tests/conftest.py)


def test_channels_gives_a_consumer_whose_layer_alias_is_not_configured_no_channel(settings):
    """The live sockets rely on it (consumers.NO_CHANNEL): no channel, queue or read task per socket."""
    assert consumers.NO_CHANNEL not in settings.CHANNEL_LAYERS
    assert layers.get_channel_layer(consumers.NO_CHANNEL) is None
    assert consumers.MeetingConsumer.channel_layer_alias == consumers.NO_CHANNEL


def test_the_layer_sweep_override_still_overrides_a_method_of_channels():
    assert callable(getattr(layers.InMemoryChannelLayer, "_clean_expired", None))
    assert InMemoryChannelLayer._clean_expired is not layers.InMemoryChannelLayer._clean_expired


@pytest.mark.parametrize("name", ["_start_transaction_under_autocommit", "_commit", "_rollback", "_close", "get_new_connection"])
def test_the_sqlite_writer_lock_still_overrides_methods_of_djangos_backend(name):
    assert callable(getattr(sqlite_base.DatabaseWrapper, name, None))
    assert getattr(DatabaseWrapper, name) is not getattr(sqlite_base.DatabaseWrapper, name)


@pytest.mark.parametrize(("version", "supported"), [("4.3.0", True), ("4.3.9", True), ("4.4.0", False), ("4.2.0", False), ("", False)])
def test_the_languages_lookup_is_refused_on_a_channels_redis_it_was_not_tested_with(version, supported):
    assert fanout.shared_languages_supported(version) is supported


def test_the_installed_channels_redis_has_what_the_languages_lookup_reads():
    import channels_redis
    from channels_redis.core import RedisChannelLayer

    assert fanout.shared_languages_supported(channels_redis.__version__)
    layer = RedisChannelLayer(hosts=["redis://127.0.0.1:1/0"])  # not connected: nothing is read from Redis here
    assert callable(layer.connection) and isinstance(layer.consistent_hash("meeting.1.console"), int) and layer.prefix == "asgi"
    assert fanout._shared_languages(layer)


def test_the_socket_sign_in_reads_channels_get_user_as_channels_own_middleware_does():
    from channels.auth import AuthMiddleware, get_user

    assert callable(get_user.func)  # the plain function SocketAuthMiddleware runs on the socket's database thread
    assert 'scope["user"]._wrapped = await get_user(scope)' in inspect.getsource(AuthMiddleware.resolve_scope)


def test_the_socket_sign_in_does_what_channels_auth_middleware_does_but_its_copies_of_the_scope():
    from channels.auth import AuthMiddleware
    from channels.middleware import BaseMiddleware

    def statements(function) -> list[str]:
        body = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0].body
        return [ast.unparse(node) for node in body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]

    # SocketAuthMiddleware.__call__ is these steps on the scope it is given: a Channels whose
    # middleware does more fails here, before a socket misses it.
    assert statements(AuthMiddleware.__call__) == ["scope = dict(scope)", "self.populate_scope(scope)", "await self.resolve_scope(scope)",
                                                   "return await super().__call__(scope, receive, send)"]  # fmt: skip
    assert statements(BaseMiddleware.__call__) == ["scope = dict(scope)", "return await self.inner(scope, receive, send)"]


@pytest.mark.parametrize(("version", "supported"), [("3.13.0", True), ("3.13", True), ("3.12.9", False), ("3.14.0", False),
                                                   ("4.0", False), ("", False), ("dev", False)])  # fmt: skip
def test_the_server_loop_is_read_from_asgiref_only_on_a_version_it_was_tested_with(version, supported):
    assert broadcaster.server_loop_supported(version) is supported


async def test_the_installed_asgiref_tells_a_sync_callers_thread_the_loop_that_called_it():
    """What the Broadcaster relies on: a view in a worker thread finds the server's loop."""
    import asyncio

    import asgiref
    from asgiref.sync import sync_to_async

    assert broadcaster.server_loop_supported(asgiref.__version__)
    assert await sync_to_async(broadcaster.server_loop)() is asyncio.get_running_loop()
