from django.urls import include, path

from .views import account, answers, briefing, console, figures, setup

urlpatterns = [
    path("", briefing.home, name="home"),
    path("language/", account.set_language, name="set_language"),
    path("setup/import/", setup.import_notes, name="import_notes"),
    path("meetings/<slug:slug>/", briefing.meeting_agenda, name="meeting"),
    path("meetings/<slug:slug>/figures/<int:position>/", figures.figure_image, name="figure_image"),
    path("meetings/<slug:slug>/screen/", console.screen, name="screen"),
    path("meetings/<slug:slug>/discussion/", console.set_discussion, name="set_discussion"),
    path("meetings/<slug:slug>/sessions/<int:number>/", briefing.session_page, name="session"),
    path("meetings/<slug:slug>/sessions/<int:number>/console/", console.console, name="console"),
    path("meetings/<slug:slug>/sessions/<int:number>/conclusions/", console.save_conclusions, name="save_conclusions"),
    path("meetings/<slug:slug>/sessions/<int:number>/practices/new/", answers.new_practice, name="new_practice"),
    path("meetings/<slug:slug>/practices/<int:practice_id>/edit/", answers.edit_practice, name="edit_practice"),
    path("meetings/<slug:slug>/practices/<int:practice_id>/moderate/", console.moderate_practice, name="moderate_practice"),
    path("meetings/<slug:slug>/questions/<int:question_id>/answer/", answers.submit_answer, name="submit_answer"),
    path("meetings/<slug:slug>/questions/<int:question_id>/status/", console.question_status, name="question_status"),
    path("meetings/<slug:slug>/answers/<int:answer_id>/moderate/", console.moderate_answer, name="moderate_answer"),
    path("", include("sessions_app.urls_records")),
    path("", include("sessions_app.urls_participants")),
    path("", include("sessions_app.urls_room")),
    path("", include("sessions_app.urls_opinion")),
]

# The practice library (issue 24).
from .views import library  # noqa: E402

urlpatterns += [
    path("practices/", library.library_list, name="library"),
    path("practices/themes/", library.library_themes, name="library_themes"),
    path("practices/export.<str:fmt>", library.library_export, name="library_export"),
    path("practices/import/", library.library_import, name="library_import"),
    path("practices/for-session/<int:session_id>/", library.library_peer, name="library_peer"),
    path("practices/<int:practice_id>/", library.library_detail, name="library_practice"),
    path("practices/<int:practice_id>/library-details/", library.library_edit, name="library_edit"),
    path("practices/<int:practice_id>/curate/", library.library_curate, name="library_curate"),
    path("api/practices/", library.api_list, name="library_api"),
    path("api/practices/<int:practice_id>/", library.api_detail, name="library_api_practice"),
    path("", include("sessions_app.urls_settings")),
    path("", include("sessions_app.signin_limits.urls")),
]
