from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = _("Meetings")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from . import events
        from .library import signals
        from .live import broadcaster, renderers
        from .oplog import log_event

        broadcaster.set_renderer(renderers.render_batch)
        events.connect_live(broadcaster)
        signals.connect()
        # A wrong password: logged with no account name or address (the axes table has those).
        user_login_failed.connect(lambda sender, **kwargs: log_event("sign_in.failed"), weak=False, dispatch_uid="ops-sign-in-failed")
