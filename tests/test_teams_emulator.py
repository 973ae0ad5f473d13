"""The Teams emulator holds to what Microsoft documents: Entra ID's token answers, the OpenID
metadata and keys, the Bot Connector's REST rules, the streaming protocol and the limits."""

from __future__ import annotations

from typing import Any

import aiohttp
import jwt

from adapters.teams.connector import activities_url
from emulators.teams import CHANNEL, TeamsEmulator


async def token(session: aiohttp.ClientSession, emu: TeamsEmulator, **form: str) -> Any:
    values = {
        "grant_type": "client_credentials",
        "client_id": emu.auth.app_id,
        "client_secret": emu.auth.password,
        "scope": "https://api.botframework.com/.default",
    }
    async with session.post(emu.token_url, data=values | form) as response:
        return response.status, await response.json()


async def test_tokens_keys_and_signed_activities() -> None:
    async with TeamsEmulator() as emu, aiohttp.ClientSession() as session:
        assert isinstance(emu, TeamsEmulator)
        status, body = await token(session, emu, client_secret="wrong")
        assert status == 401 and body["error_description"].startswith("AADSTS7000215")
        status, body = await token(session, emu, scope="https://graph.microsoft.com/.default")
        assert status == 400 and body["error"] == "invalid_scope"
        status, body = await token(session, emu)
        assert status == 200 and body["token_type"] == "Bearer" and body["expires_in"] > 0
        async with session.get(emu.metadata_url) as meta:
            metadata = await meta.json()
        assert metadata["issuer"] == "https://api.botframework.com"
        async with session.get(metadata["jwks_uri"]) as keys:
            (key,) = (await keys.json())["keys"]
        assert key["endorsements"] == ["msteams"]
        signed = emu.auth.activity_token(emu.service_url)
        public = jwt.PyJWK({k: v for k, v in key.items() if k != "endorsements"}, "RS256")
        claims = jwt.decode(signed, public, ["RS256"], audience=emu.auth.app_id)
        assert claims["serviceurl"] == emu.service_url


async def test_connector_rules() -> None:
    async with TeamsEmulator(token_ttl=60) as emu, aiohttp.ClientSession() as session:
        assert isinstance(emu, TeamsEmulator)
        _, body = await token(session, emu)
        auth = {"Authorization": f"Bearer {body['access_token']}"}

        async def send(conversation: str, activity: dict[str, Any], bearer: bool = True) -> Any:
            url = activities_url(emu.service_url, conversation)
            async with session.post(url, json=activity, headers=auth if bearer else {}) as r:
                return r.status, await r.json(content_type=None)

        message = {"type": "message", "text": "hi"}
        assert (await send(CHANNEL, message, bearer=False))[0] == 401
        status, posted = await send(CHANNEL, message)
        assert status == 201 and emu.state.messages[posted["id"]].root == posted["id"]
        start = {"type": "typing", "text": "a", "entities": [{"type": "streaminfo"}]}
        start["entities"][0] |= {"streamType": "streaming", "streamSequence": 1}
        status, refused = await send(CHANNEL, start)
        assert status == 403 and refused["error"]["code"] == "ContentStreamNotAllowed"
        chat = emu.personal_chat()
        status, opened = await send(chat, start)
        assert status == 201
        stream = opened["id"]

        def update(text: str, sequence: int | None, kind: str = "typing") -> dict[str, Any]:
            info: dict[str, Any] = {"type": "streaminfo", "streamId": stream}
            info |= {"streamType": "final"} if sequence is None else {"streamSequence": sequence}
            return {"type": kind, "text": text, "entities": [info]}

        assert (await send(chat, update("b", 2)))[0] == 400
        assert (await send(chat, update("ab", 2)))[0] == 202
        status, dropped = await send(chat, update("abc", 2))
        assert dropped["error"]["code"] == "ContentStreamSequenceOrderPreConditionFailed"
        assert (await send(chat, update("abc", None, "message")))[0] == 202
        status, done = await send(chat, update("abcd", 4))
        assert status == 403 and "completed" in done["error"]["message"]
        emu.connector.max_message_bytes = 10
        status, large = await send(CHANNEL, {"type": "message", "text": "x" * 20})
        assert status == 413 and large["error"]["code"] == "MessageSizeTooBig"
        emu.connector.max_message_bytes = 100_000
        emu.enforce_limits()
        statuses = [(await send(CHANNEL, message))[0] for _ in range(9)]
        assert statuses.count(201) == 6 and statuses[-1] == 429  # 7 in 1 s, the first counts
        assert emu.rate_limited == 3
