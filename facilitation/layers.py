"""The embedded default's channel layer: Channels' in-memory layer, sweeping expired messages and
group memberships at most once a second instead of on every send and receive.

Channels' sweep walks every channel and group of the process. The hub's one channel is in a group
per user with a socket open (sessions_app/live/fanout.py), so with 2,000 delegates every broadcast
and every receive of it walked 2,000 groups (bench/bench_overrides.py: 23x; when each socket also
had a channel and a revocation group of its own, a third of the server's time at 50 answers/s).
Expiry is 60 s; sweeping once a second changes nothing a user can notice.
"""

from __future__ import annotations

import time

from channels import layers


class InMemoryChannelLayer(layers.InMemoryChannelLayer):
    sweep_every_s = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._swept_at = float("-inf")

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._swept_at < self.sweep_every_s:
            return
        self._swept_at = now
        super()._clean_expired()
