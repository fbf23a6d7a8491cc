"""Local fan-out: one channel-layer subscription per process and group, shared by its sockets.

With one channel per socket, a broadcast to 1,000 delegates is 1,000 channel-layer messages (and
1,000 Redis publishes in scale-out), each decoded and dispatched by its own consumer. Here each
process subscribes once per group through a hub channel; a broadcast is one message per process,
whose fragment is encoded once per language and written to every local socket of the group.

Consumers, authentication and routing stay Channels'. A hub belongs to one event loop and one
channel layer (each test has its own of both); it stops when its last socket leaves.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from channels.layers import InMemoryChannelLayer

logger = logging.getLogger(__name__)

_hubs: dict[tuple[int, int], "LocalHub"] = {}


class LocalHub:
    def __init__(self, layer, key: tuple[int, int]):
        self.layer, self.key = layer, key
        self.members: dict[str, dict] = {}  # group -> its local sockets, in the order they joined
        self.languages: dict[str, Counter] = {}  # group -> its local sockets' interface languages
        self.channel: str | None = None
        self.task: asyncio.Task | None = None
        self.lock = asyncio.Lock()

    async def join(self, group: str, consumer) -> None:
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.task = asyncio.get_running_loop().create_task(self._pump())
            if group not in self.members:
                self.members[group] = {}
                await self.layer.group_add(group, self.channel)
            if consumer not in self.members[group]:
                self.members[group][consumer] = None
                self.languages.setdefault(group, Counter())[consumer.language] += 1

    async def leave(self, group: str, consumer) -> None:
        async with self.lock:
            members = self.members.get(group)
            if members is None:
                return
            self._forget(group, consumer)
            if members:
                return
            del self.members[group], self.languages[group]
            await self.layer.group_discard(group, self.channel)
            if not self.members:
                self._stop()

    def _forget(self, group: str, consumer) -> None:
        """Take a socket out of a group's members and language counts (if it is still there)."""
        members = self.members.get(group)  # gone if its last socket left meanwhile
        if members is not None and consumer in members:
            del members[consumer]
            self.languages[group][consumer.language] -= 1

    def _stop(self) -> None:
        _hubs.pop(self.key, None)
        if self.task is not None:
            self.task.cancel()
        self.task, self.channel = None, None

    async def _pump(self) -> None:
        channel = self.channel
        while True:
            message = await self.layer.receive(channel)
            try:
                await self._deliver(message)
            except Exception:  # one bad message or socket must not stop the meeting's live updates
                logger.exception("Local fan-out could not deliver a message to group %s", message.get("group"))

    async def _deliver(self, message: dict) -> None:
        members = self.members.get(message.get("group"))
        if not members or message.get("type") != "live.fragment":
            return
        html = message["html"]
        for consumer in list(members):  # a socket may leave while we write to the others
            try:
                await consumer.push_fragment(html)
            except Exception as error:  # e.g. the client went away before its disconnect reached us
                # One socket's failure must not cost the others this message; it leaves the group
                # here, and its disconnect (if it ever comes) finds it gone.
                self._forget(message["group"], consumer)
                logger.info("Local fan-out dropped a socket of group %s: %r", message.get("group"), error)


def hub_for(layer) -> LocalHub:
    """The hub of the running event loop for this channel layer."""
    key = (id(asyncio.get_running_loop()), id(layer))
    hub = _hubs.get(key)
    if hub is None:
        hub = _hubs[key] = LocalHub(layer, key)
    return hub


def listeners(layer, loop: asyncio.AbstractEventLoop) -> dict[str, frozenset[str]] | None:
    """On `loop`: the interface languages of every group's sockets, when this process holds them all
    (the in-memory layer: one process), so that a broadcast renders only those; None otherwise (other
    processes' sockets are unknown here: render every language). A group with no socket is absent."""
    if not isinstance(layer, InMemoryChannelLayer):
        return None
    hub = _hubs.get((id(loop), id(layer)))
    if hub is None:
        return {}
    return {group: frozenset(language for language, count in counts.items() if count > 0) for group, counts in hub.languages.items()}
