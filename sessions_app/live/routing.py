from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/meetings/<slug:slug>/sessions/<int:number>/<str:audience>/", consumers.MeetingConsumer.as_asgi()),
    path("ws/meetings/<slug:slug>/screen/", consumers.MeetingConsumer.as_asgi(), {"audience": "screen"}),
    path("ws/screen-link/<str:token>/", consumers.ScreenLinkConsumer.as_asgi()),
]
