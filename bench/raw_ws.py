"""Baseline: a raw `websockets` broadcast server, no Django, no Channels.

A socket on /ws/<group>/ joins <group>; each text it sends, "<target>|<body>", is written to every
member of <target> with websockets.broadcast(). With --redis (the scaled mode's two processes),
messages go through Redis pub/sub so that members on the other process get them too. Same event
loop (uvloop) as Uvicorn uses here.

    python bench/raw_ws.py --port 8001 [--redis redis://127.0.0.1:6379/12 --prefix bench-raw-x.]
"""

import argparse
import asyncio
import signal
from collections import defaultdict
from http import HTTPStatus

import uvloop
from websockets.asyncio.server import broadcast, serve


async def main(port: int, redis_url: str | None, prefix: str) -> None:
    groups: dict[str, set] = defaultdict(set)
    outbox: asyncio.Queue | None = None
    tasks = []
    if redis_url:
        import redis.asyncio as redis

        client = redis.Redis.from_url(redis_url, socket_timeout=30)
        subscriber = client.pubsub()
        await subscriber.psubscribe(f"{prefix}*")
        outbox = asyncio.Queue()

        async def relay():
            async for item in subscriber.listen():
                if item["type"] == "pmessage":
                    broadcast(groups[item["channel"].decode()[len(prefix):]], item["data"].decode())

        async def publish():
            # One connection, one pipeline per batch of waiting messages, in the order they came.
            while True:
                batch = [await outbox.get()]
                while not outbox.empty():
                    batch.append(outbox.get_nowait())
                async with client.pipeline(transaction=False) as pipe:
                    for channel, body in batch:
                        pipe.publish(channel, body)
                    await pipe.execute()

        tasks += [asyncio.create_task(relay()), asyncio.create_task(publish())]

    async def handler(ws):
        group = ws.request.path.strip("/").split("/")[-1]
        groups[group].add(ws)
        try:
            async for message in ws:
                target, _, body = message.partition("|")
                if outbox is not None:
                    outbox.put_nowait((prefix + target, body))
                else:
                    broadcast(groups[target], body)
        finally:
            groups[group].discard(ws)

    def health(connection, request):
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return connection.respond(HTTPStatus.OK, "ok\n")
        return None

    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(handler, "127.0.0.1", port, process_request=health, ping_interval=None, backlog=4096):
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis")
    parser.add_argument("--prefix", default="bench-raw.")
    options = parser.parse_args()
    uvloop.run(main(options.port, options.redis, options.prefix))
