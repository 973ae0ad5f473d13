"""/healthz says the process lives; /readyz says it can take work: Redis answers, every
messenger is connected, it is not draining. A private Redis is stopped and started again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from tests.harness import Env, slack_bridge
from tests.procs import redis_server

TIMEOUT = 30.0


async def probe(client: httpx.AsyncClient, env: Env, path: str) -> httpx.Response:
    return await client.get(f"http://127.0.0.1:{env.runtime.http_port}{path}", timeout=10)


async def wait_status(
    client: httpx.AsyncClient, env: Env, path: str, status: int
) -> httpx.Response:
    deadline = time.monotonic() + TIMEOUT
    while True:
        response = await probe(client, env, path)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.1)


async def test_readyz_follows_redis_and_healthz_stays_up(tmp_path: Path, prefix: str) -> None:
    async with (
        redis_server(tmp_path) as server,
        slack_bridge(server.url, prefix) as env,
        httpx.AsyncClient() as client,
    ):
        ready = await probe(client, env, "/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"ready": True}

        await server.stop()
        down = await wait_status(client, env, "/readyz", 503)
        assert down.status_code == 503, down.text
        assert down.json()["ready"] is False
        assert "redis" in down.json()["reason"]
        assert (await probe(client, env, "/healthz")).status_code == 200

        await server.start()
        back = await wait_status(client, env, "/readyz", 200)
        assert back.status_code == 200, back.text
        assert (await probe(client, env, "/healthz")).status_code == 200


async def test_readyz_refuses_while_draining(redis_url: str, prefix: str) -> None:
    async with slack_bridge(redis_url, prefix) as env, httpx.AsyncClient() as client:
        assert (await probe(client, env, "/readyz")).status_code == 200
        env.runtime.draining = True
        response = await probe(client, env, "/readyz")
        assert response.status_code == 503
        assert response.json() == {"ready": False, "reason": "draining"}
