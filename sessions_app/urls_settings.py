"""The meeting settings page and kiosk screen links; included at the end of sessions_app/urls.py."""

from django.urls import path

from .views import meeting_settings

urlpatterns = [
    path("meetings/<slug:slug>/settings/", meeting_settings.meeting_settings, name="meeting_settings"),
    path("meetings/<slug:slug>/settings/screen-links/", meeting_settings.create_screen_link, name="create_screen_link"),
    path(
        "meetings/<slug:slug>/settings/screen-links/<int:link_id>/revoke/",
        meeting_settings.revoke_screen_link,
        name="revoke_screen_link",
    ),
    path("screen-link/<str:token>/", meeting_settings.kiosk_screen, name="kiosk_screen"),
]
