"""ASGI entry point: Django for HTTP (static files included, for the zero set-up mode), Channels for
WebSockets."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facilitation.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up first)
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import CookieMiddleware  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from sessions_app.live import lifespan  # noqa: E402
from sessions_app.middleware import SocketAuthMiddleware, SocketSessionMiddleware  # noqa: E402
from sessions_app.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Every request, answer and vote posts included, takes Django's whole request path (they are
        # batched below the view: sessions_app/group_commit.py).
        "http": ASGIStaticFilesHandler(django_asgi_app),
        # Channels' AuthMiddlewareStack, with a session middleware that leaves the socket's sends alone
        # and the user read on the sockets' database thread without closing its connection.
        # A graceful stop (SIGTERM) sends the live messages still pending before the process exits.
        "lifespan": lifespan.application,
        "websocket": AllowedHostsOriginValidator(
            CookieMiddleware(SocketSessionMiddleware(SocketAuthMiddleware(URLRouter(websocket_urlpatterns))))
        ),
    }
)

# The server allocates fast (templates, requests) and holds hundreds of thousands of live objects
# (2,000 sockets: ~400k). With Python's default thresholds (700, 10, 10) young collections took ~6 %
# of an answer's CPU and the process sustained fewer answers per second (docs/performance.md).
# What exists once the application is loaded lives as long as the process: kept out of every
# collection. Cyclic garbage is still collected, in larger and rarer passes.
GC_THRESHOLDS = (50_000, 20, 10)
gc.freeze()
gc.set_threshold(*GC_THRESHOLDS)
