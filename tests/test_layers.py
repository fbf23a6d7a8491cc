"""The embedded channel layer (facilitation/layers.py): delivers like Channels' own, expires lazily."""

import asyncio

import pytest

from facilitation.layers import InMemoryChannelLayer

pytestmark = pytest.mark.asyncio


async def test_a_group_message_reaches_every_member():
    layer = InMemoryChannelLayer()
    first, second = await layer.new_channel(), await layer.new_channel()
    for channel in (first, second):
        await layer.group_add("meeting.1.console", channel)
    await layer.group_send("meeting.1.console", {"type": "live.fragment", "html": {"en": "<p>x</p>"}})
    for channel in (first, second):
        assert (await asyncio.wait_for(layer.receive(channel), 1))["html"] == {"en": "<p>x</p>"}


async def test_an_expired_message_is_dropped_at_the_next_sweep():
    layer = InMemoryChannelLayer(expiry=1)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "old"})
    layer.sweep_every_s = 0.2
    await asyncio.sleep(1.3)
    await layer.send(channel, {"type": "new"})
    await layer.group_send("nobody", {"type": "sweep"})  # any group_send may sweep
    assert (await asyncio.wait_for(layer.receive(channel), 1))["type"] == "new"

