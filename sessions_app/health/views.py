import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

LAYER_TIMEOUT_S = 2


async def _layer_round_trip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, {"type": "healthz.ping"})
    message = await asyncio.wait_for(layer.receive(channel), LAYER_TIMEOUT_S)
    if message.get("type") != "healthz.ping":
        raise RuntimeError("unexpected message")


def _database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any failure means "not healthy"; the reason is for the server's log, not the reply
        return False


def _channel_layer() -> bool:
    try:
        async_to_sync(_layer_round_trip)()
        return True
    except Exception:
        return False


@never_cache
@require_GET
def healthz(request):
    """200 {"status": "ok", ...} when the database and the channel layer answer, else 503 saying which did not."""
    checks = {"database": _database(), "channel_layer": _channel_layer()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable", **{name: "ok" if ok else "unreachable" for name, ok in checks.items()}}
    return JsonResponse(body, status=200 if healthy else 503)
