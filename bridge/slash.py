"""`/threadbridge <sub>`: the commands people expect in a messenger's command box, the same on
every platform. Adapters work out the thread, the user's locale and whether the user is an
admin; the answer is a short text the adapter shows only to that user.

new: a fresh conversation in this thread; stop: stop the running reply; forget: delete the
conversation at the provider and all the thread's data (asks for `forget confirm` first);
status: provider, conversation id, posts so far, busy policy; config: this channel's settings
(admins only).

A thread named by a link may lie in another channel: the command acts on it only if the caller
may see it (`may_reach`, the one rule; the platform's part comes from the adapter as a `Link`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from bridge.config import BUSY_POLICIES
from bridge.contracts import Access, Invocation, Link, ThreadKey, split_ids
from bridge.hub_view import HubView
from bridge.i18n import text
from bridge.refs import new_ref

REPLY_MODES = ("every", "mentions")
CONFIG_NAMES: dict[str, str] = {
    "provider": "provider",
    "busy_policy": "busy_policy",
    "reply_mode": "reply_mode",
    "persona": "steering.persona",
    "model": "steering.model",
    "system_prompt": "steering.system_prompt",
    "personality": "steering.personality",
    "brand_voice": "steering.brand_voice",
    "target_audience": "steering.target_audience",
    "agent": "steering.agent",
    "suggested_prompts": "suggested_prompts",
}
"""What `config NAME VALUE` sets: channel settings; `steering.*` reach the provider on open;
`suggested_prompts` are what Slack's AI-app threads opened beside the channel offer."""
CLEAR = ("-", "none", "default")

log = logging.getLogger(__name__)


async def may_reach(access: Access, user: str, link: Link) -> bool:
    """Whether `user` may act on a linked thread: the access lists admit them in its channel,
    and they may see it there (a member; outside DMs also a platform admin). Listed admins
    (BRIDGE_ADMIN_USERS) change settings; they do not see into others' conversations."""
    thread = link.thread
    if not access.allows_in(thread.tenant, thread.channel, user):
        return False
    if await link.member():
        return True
    return not link.direct and link.admin is not None and await link.admin()


async def run_slash(hub: HubView, inv: Invocation) -> str:
    """Carry out the invocation; return the text to show the user."""
    say = _speaker(hub, inv)
    sub = inv.words[0].lower() if inv.words else ""
    hub.metrics.inc("slash_commands_total")
    _, tenant, channel = split_ids(inv.scope, 3)
    if not hub.access.allows_in(tenant, channel, inv.user):
        hub.metrics.inc("commands_refused_total")
        return say("refused")
    try:
        if inv.link is not None and not await may_reach(hub.access, inv.user, inv.link):
            hub.metrics.inc("commands_refused_total")
            return say("link_refused")
        if inv.thread is None and inv.last_thread:
            inv = replace(inv, thread=await hub.last_thread(inv.scope, inv.user))
        if sub == "config":
            return await _config(hub, inv, say)
        if sub not in ("new", "stop", "forget", "status"):
            return say("usage", command=inv.command)
        if inv.thread is None:
            return say("not_in_thread")
        return await _thread_command(hub, inv, inv.thread, sub, say)
    except Exception:
        ref = new_ref()
        log.exception("%s %s failed (ref %s)", inv.command, sub, ref)
        return say("command_failed", ref=ref)


async def _thread_command(
    hub: HubView, inv: Invocation, thread: ThreadKey, sub: str, say: Say
) -> str:
    """A subcommand about one thread; provider or Redis trouble raises (the caller says so)."""
    if sub == "stop":
        await hub.stop(thread)
        return say("stop_done")
    if sub == "new":
        await hub.fresh(thread)
        return say("new_done")
    if sub == "forget":
        if [w.lower() for w in inv.words[1:2]] != ["confirm"]:
            return say("forget_confirm", command=inv.command)
        await hub.forget(thread)
        return say("forget_done")
    return await _status(hub, thread, say)


Say = Callable[..., str]


def _speaker(hub: HubView, inv: Invocation) -> Say:
    def say(key: str, **values: object) -> str:
        return text(key, inv.locale, hub.settings.bridge_locale, **values)

    return say


async def _status(hub: HubView, thread: ThreadKey, say: Say) -> str:
    binding = await hub.binding(thread)
    channel = await hub.channel_settings(thread.scope)
    provider = binding.provider if binding else channel.get("provider") or hub.default_provider
    return say(
        "status",
        provider=provider,
        conversation=(binding.id if binding and binding.id else say("none")),
        messages=await hub.posts_seen(thread),
        policy=channel.get("busy_policy") or hub.settings.bridge_busy_policy,
    )


async def _config(hub: HubView, inv: Invocation, say: Say) -> str:
    if not await hub.access.is_admin(inv.user, inv.is_admin):
        return say("config_refused")
    names = ", ".join(CONFIG_NAMES)
    if len(inv.words) < 3:
        current = await hub.channel_settings(inv.scope)
        shown = {name: current[key] for name, key in CONFIG_NAMES.items() if key in current}
        lines = "\n".join(f"{k} = {v}" for k, v in shown.items()) or "-"
        return say("config_show", settings=lines)
    name, value = inv.words[1].lower(), " ".join(inv.words[2:])
    if name not in CONFIG_NAMES or not _valid(hub, name, value):
        return say("config_bad", name=name, names=names)
    key = CONFIG_NAMES[name]
    cleared = value.lower() in CLEAR
    if cleared:
        await hub.clear_channel_setting(inv.scope, key)
    else:
        await hub.set_channel_setting(inv.scope, key, value)
    answer = say("config_set", name=name, value=value)
    steering = key.removeprefix("steering.")
    if steering != key and inv.thread is not None and inv.thread.scope == inv.scope:
        changes = {steering: "" if cleared else value}
        if await hub.steer(inv.thread, changes):
            answer += " " + say("config_live")
    return answer


def _valid(hub: HubView, name: str, value: str) -> bool:
    if value.lower() in CLEAR:
        return True
    if name == "provider":
        return value in hub.provider_names()
    if name == "busy_policy":
        return value in BUSY_POLICIES
    if name == "reply_mode":
        return value in REPLY_MODES
    return bool(value)
