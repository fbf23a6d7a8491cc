from django.urls import path

from .views import opinion, synthesis

urlpatterns = [
    path("meetings/<slug:slug>/sessions/<int:number>/opinion/new/", opinion.open_round, name="opinion_open_round"),
    path("meetings/<slug:slug>/opinion/<int:round_id>/action/", opinion.round_action, name="opinion_round_action"),
    path("meetings/<slug:slug>/opinion/<int:round_id>/statements/", opinion.add_statement, name="opinion_add_statement"),
    path("meetings/<slug:slug>/opinion/<int:round_id>/propose/", opinion.propose_statement, name="opinion_propose"),
    path("meetings/<slug:slug>/opinion/statements/<int:statement_id>/moderate/", opinion.moderate_statement, name="opinion_moderate_statement"),
    path("meetings/<slug:slug>/opinion/statements/<int:statement_id>/vote/", opinion.cast_vote, name="opinion_vote"),
    path("meetings/<slug:slug>/opinion/<int:round_id>/polis.zip", opinion.polis_export, name="opinion_polis_export"),
    path("meetings/<slug:slug>/questions/<int:question_id>/themes/", synthesis.synthesis_action, name="synthesis_action"),
]
