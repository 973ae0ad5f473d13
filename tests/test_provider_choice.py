"""Which provider answers new threads when BRIDGE_PROVIDER is not set: the only one configured;
none or several is one line naming BRIDGE_PROVIDER and the choices."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.config import ConfigError
from bridge.plugins import provider_names
from bridge.registry import Providers
from bridge.store import Store
from emulators.openai_compat import OpenAIEmulator
from emulators.slack import SlackEmulator
from tests.harness import bridge_runtime, bridge_settings
from tests.test_startup import run_cli

NO_PROVIDER: dict[str, Any] = {
    "bridge_provider": None,
    "neuroflash_client_id": None,
    "neuroflash_client_secret": None,
    "neuroflash_workspace_id": None,
}
OPENAI = {"openai_base_url": "http://127.0.0.1:1/v1", "openai_model": "m"}


async def default_of(store: Store, redis_url: str, prefix: str, **values: Any) -> str:
    settings = bridge_settings(redis_url, prefix, **(NO_PROVIDER | values))
    providers = Providers(settings, store.thread_state)
    try:
        return providers.default
    finally:
        await providers.aclose()


async def test_the_only_configured_provider_is_the_default(
    store: Store, redis_url: str, prefix: str
) -> None:
    assert await default_of(store, redis_url, prefix, **OPENAI) == "openai"
    assert await default_of(store, redis_url, prefix, converzen_api_key="k") == "converzen"


async def test_neuroflash_credentials_choose_neuroflash_not_its_prototype_api(
    store: Store, redis_url: str, prefix: str
) -> None:
    creds = {"neuroflash_client_id": "cid", "neuroflash_client_secret": "s"}
    assert await default_of(store, redis_url, prefix, **creds) == "neuroflash"
    chosen = await default_of(
        store, redis_url, prefix, bridge_provider="neuroflash-prototype", **creds
    )
    assert chosen == "neuroflash-prototype"


async def test_no_provider_configured_names_the_setting_and_every_choice(
    store: Store, redis_url: str, prefix: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        await default_of(store, redis_url, prefix)
    message = str(caught.value)
    assert message.startswith("BRIDGE_PROVIDER is not set") and "\n" not in message
    assert all(name in message for name in provider_names())


async def test_several_configured_providers_name_the_setting_and_them(
    store: Store, redis_url: str, prefix: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        await default_of(store, redis_url, prefix, converzen_api_key="k", **OPENAI)
    message = str(caught.value)
    assert message.startswith("BRIDGE_PROVIDER is not set")
    assert message.endswith("converzen, openai")


async def test_an_openai_server_alone_runs_without_bridge_provider(
    redis_url: str, prefix: str
) -> None:
    """The new user with a local OpenAI-compatible server is not asked for neuroflash."""
    slack, openai = SlackEmulator(), OpenAIEmulator()
    await slack.start()
    await openai.start()
    runtime = bridge_runtime(
        redis_url,
        prefix,
        **NO_PROVIDER,
        openai_base_url=openai.base_url,
        openai_model="m",
        slack_bot_token=slack.bot_token,
        slack_app_token=slack.app_token,
        slack_api_url=slack.api_url,
    )
    try:
        await runtime.start()
        assert runtime.providers is not None and runtime.providers.default == "openai"
    finally:
        await runtime.stop(grace=1.0)
        await slack.stop()
        await openai.stop()


def test_run_without_any_provider_is_one_line(redis_url: str) -> None:
    result = run_cli("run", env={"REDIS_URL": redis_url, "DISCORD_TOKEN": "t"})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("threadbridge: BRIDGE_PROVIDER"), result.stderr
