"""The live loop: it reads the domain and sends what the domain recorded; the domain never imports it.

Services record events (sessions_app/events.py); here they are rendered once per audience
(renderers.py, votes.py, screen.py, on partials.py), sent (broadcaster.py), fanned out to the
sockets of each process (fanout.py) and answered or replayed to each socket (consumers.py,
resync.py, replies.py). AppConfig.ready connects it to events; import-linter keeps the direction
(pyproject.toml, `make test`).
"""
