from django.urls import path

from .views import room

urlpatterns = [
    path("meetings/<slug:slug>/sessions/<int:number>/floor/request/", room.request_floor, name="request_floor"),
    path("meetings/<slug:slug>/sessions/<int:number>/floor/end/", room.end_floor, name="end_floor"),
    path("meetings/<slug:slug>/sessions/<int:number>/floor/add/", room.add_speaker, name="add_speaker"),
    path("meetings/<slug:slug>/sessions/<int:number>/floor/close/", room.close_floor, name="close_floor"),
    path("meetings/<slug:slug>/floor/<int:request_id>/withdraw/", room.withdraw_floor, name="withdraw_floor"),
    path("meetings/<slug:slug>/floor/<int:request_id>/give/", room.give_floor, name="give_floor"),
    path("meetings/<slug:slug>/floor/<int:request_id>/move/", room.move_floor, name="move_floor"),
    path("meetings/<slug:slug>/sessions/<int:number>/start/", room.start_session, name="start_session"),
    path("meetings/<slug:slug>/sessions/<int:number>/end/", room.end_session, name="end_session"),
    path("meetings/<slug:slug>/sessions/<int:number>/schedule/", room.session_schedule, name="session_schedule"),
    path("meetings/<slug:slug>/sessions/<int:number>/polls/new/", room.create_poll, name="create_poll"),
    path("meetings/<slug:slug>/polls/<int:poll_id>/action/", room.poll_action, name="poll_action"),
    path("meetings/<slug:slug>/polls/<int:poll_id>/vote/", room.cast_vote, name="cast_vote"),
]
