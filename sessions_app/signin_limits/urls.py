from django.urls import path

from . import views

urlpatterns = [
    path("signin-lockouts/", views.lockouts, name="signin_lockouts"),
    path("signin-lockouts/lift/", views.lift, name="signin_lockout_lift"),
]
