"""Participants, sign-in links and the room code (included at the root by sessions_app.urls)."""

from django.urls import path

from .views import participants as views

urlpatterns = [
    path("meetings/<slug:slug>/participants/", views.participants_list, name="participants"),
    path("meetings/<slug:slug>/participants/add/", views.participant_add, name="participant_add"),
    path("meetings/<slug:slug>/participants/import/", views.participants_import, name="participants_import"),
    path(
        "meetings/<slug:slug>/participants/import/preview/",
        views.participants_import_preview,
        name="participants_import_preview",
    ),
    path(
        "meetings/<slug:slug>/participants/import/confirm/",
        views.participants_import_confirm,
        name="participants_import_confirm",
    ),
    path(
        "meetings/<slug:slug>/participants/send-links/", views.participants_send_links, name="participants_send_links"
    ),
    path("meetings/<slug:slug>/participants/sheet/", views.participants_sheet, name="participants_sheet"),
    path("meetings/<slug:slug>/participants/<int:pk>/", views.participant_edit, name="participant_edit"),
    path(
        "meetings/<slug:slug>/participants/<int:pk>/send-link/",
        views.participant_send_link,
        name="participant_send_link",
    ),
    path(
        "meetings/<slug:slug>/participants/<int:pk>/revoke-links/",
        views.participant_revoke_links,
        name="participant_revoke_links",
    ),
    path(
        "meetings/<slug:slug>/participants/<int:pk>/deactivate/",
        views.participant_deactivate,
        name="participant_deactivate",
    ),
    path(
        "meetings/<slug:slug>/participants/<int:pk>/reactivate/",
        views.participant_reactivate,
        name="participant_reactivate",
    ),
    path("signin/", views.signin_request, name="signin_request"),
    path("signin/<str:token>/", views.signin, name="signin"),
    path("join/", views.join, name="join"),
]
