"""Baseline: a bare Channels consumer in the shape of the Channels tutorial, no Django app behind it.

A socket on /ws/<group>/ joins <group>; each text it sends, "<target>|<body>", goes to group
<target> with group_send and every member forwards <body>. No auth, no database, no templates: it
measures what Channels and the channel layer cost on their own. The layer settings are the
project's own (imported from facilitation.settings): in-memory, or channels-redis with REDIS_URL.

    uvicorn bare_channels:application --app-dir bench --ws wsproto ...
"""

import sys
from pathlib import Path

import django
from django.conf import settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from facilitation import settings as project  # noqa: E402  (a plain module here, for CHANNEL_LAYERS)

settings.configure(INSTALLED_APPS=["channels"], CHANNEL_LAYERS=project.CHANNEL_LAYERS, USE_TZ=True)
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class BroadcastConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.group = self.scope["url_route"]["kwargs"]["group"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        target, _, body = (text_data or "").partition("|")
        await self.channel_layer.group_send(target, {"type": "broadcast.message", "text": body})

    async def broadcast_message(self, event):
        await self.send(text_data=event["text"])


async def health(scope, receive, send):
    """Plain HTTP 200, so that the harness can tell the server is up."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok\n"})


application = ProtocolTypeRouter(
    {"http": health, "websocket": URLRouter([path("ws/<str:group>/", BroadcastConsumer.as_asgi())])}
)
