"""The embedded default's channel layer: Channels' in-memory layer, sweeping expired messages and
group memberships at most once a second instead of on every send and receive.

Channels' sweep walks every channel and group of the process. Each socket waits on a channel of its
own and joins groups of its own (revocation, its user), so with 2,000 delegates every broadcast and
every answer's message walked about 6,000 entries: a third of the server's time at 50 answers/s
(py-spy). Expiry is 60 s; sweeping once a second changes nothing a user can notice.
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
