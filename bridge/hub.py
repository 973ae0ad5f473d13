"""The concrete core handed to adapters (`bridge.contracts.Core`); built by bridge/runtime only."""

from __future__ import annotations

import copy
import logging

from redis.exceptions import RedisError

from bridge import i18n
from bridge.access import AccessPolicy
from bridge.config import Settings
from bridge.contracts import (
    Conversation,
    Incoming,
    Invocation,
    Meter,
    Options,
    PluginState,
    Replies,
    Steerable,
    ThreadKey,
    UserPost,
)
from bridge.contracts.feedback import Press
from bridge.control import Control
from bridge.deadletters import DeadLetters
from bridge.feedback import Ratings, take_feedback
from bridge.inbox import Inbox
from bridge.ingest import take
from bridge.metrics import Metrics
from bridge.outage import Outage
from bridge.pacing import EditBudget
from bridge.plugin_state import RedisPluginState
from bridge.plugins import provider_names
from bridge.registry import Providers
from bridge.slash import run_slash
from bridge.store import Store

log = logging.getLogger(__name__)


class Hub:
    """The core as an adapter sees it (`bridge.contracts.Core`, through `for_adapter`) and as
    the inbound policy sees it (`bridge.hub_view.HubView`): a line per store question."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        inbox: Inbox,
        budget: EditBudget,
        providers: Providers,
        control: Control,
        metrics: Metrics,
        outage: Outage,
    ) -> None:
        self.settings = settings
        self.options = Options(
            link_previews=settings.link_previews,
            locale=settings.bridge_locale,
            max_post_chars=settings.bridge_max_post_chars,
        )
        self._store = store
        self.budget = budget
        self.metrics = metrics
        self._state: PluginState | None = None
        self._outage = outage
        self._inbox = inbox
        self._dead = DeadLetters(store.redis, store.keys, store.thread_ttl)
        self._providers = providers
        self._control = control
        self._ratings = Ratings(store.redis, store)
        self.access = AccessPolicy.from_settings(settings, store.redis, store.keys)

    def for_adapter(self, platform: str) -> Hub:
        """This hub as one adapter's `Core`: its `state` holds that platform's values."""
        view = copy.copy(self)
        view._state = RedisPluginState(self._store.redis, self._store.keys, platform)
        return view

    @property
    def state(self) -> PluginState:
        if self._state is None:
            raise RuntimeError("plugin state belongs to one adapter: use Hub.for_adapter")
        return self._state

    @property
    def meter(self) -> Meter:
        return self.metrics

    async def post(self, incoming: Incoming, replies: Replies) -> None:
        """The one way in for a message (`bridge.ingest.take`)."""
        await take(self, incoming, replies)

    async def command(self, invocation: Invocation) -> str:
        """`/threadbridge` (`bridge.slash.run_slash`)."""
        return await run_slash(self, invocation)

    def text(self, name: str, locale: str | None = None) -> str:
        return i18n.text(name, locale, self.options.locale)

    async def feedback(self, press: Press) -> str:
        """A thumbs up/down on a reply (`bridge.feedback.take_feedback`)."""
        default = self.options.locale
        return await take_feedback(self._store, self._ratings, self.metrics, press, default)

    async def accept(self, post: UserPost, *, starts_thread: bool = False) -> bool:
        """Record `post` durably before the platform is acked; False if it was seen before.

        Raises `RedisError` when Redis is down, so the adapter can answer with a retryable
        failure; the outage is logged once, not once per event.
        """
        try:
            if starts_thread:
                await self._store.mark_thread(post.thread)
            seq = await self._inbox.accept(post)
            if seq > 0:
                await self._store.touch_thread(post.thread)
        except RedisError as exc:
            self._outage.failed(exc)
            raise
        self._outage.recovered()
        if seq > 0:
            self.metrics.post(post.thread.platform)
        return seq > 0

    async def is_thread(self, thread: ThreadKey) -> bool:
        return await self._store.is_thread(thread)

    async def stop(self, thread: ThreadKey) -> None:
        """Stop the reply streaming in `thread`, on whichever replica runs it."""
        await self._control.publish_stop(thread)

    async def stop_by_reply(
        self, platform: str, tenant: str, channel: str, message_id: str
    ) -> bool:
        """Stop the reply that `message_id` (one of the bot's reply messages in `channel`)
        belongs to."""
        thread = await self._store.reply_thread(platform, tenant, channel, message_id)
        if thread is None:
            return False
        await self.stop(thread)
        return True

    def provider_names(self) -> list[str]:
        return provider_names()

    def provider_configured(self, name: str) -> bool:
        """A provider a channel may switch to: known, with its required settings present."""
        return self._providers.configured(name)

    @property
    def default_provider(self) -> str:
        return self._providers.default

    async def fresh(self, thread: ThreadKey) -> None:
        """Stop the reply and unbind: the next post starts a new conversation."""
        await self.stop(thread)
        await self._store.start_over(thread)

    async def forget(self, thread: ThreadKey) -> None:
        """Drop the thread's posts still waiting in the inbox (so no replica starts one), stop
        the reply, delete the conversation at the provider where the API can, then every key
        and dead letter of the thread. A provider that fails to delete raises, and the thread's
        keys and dead letters stay, so the user is told and can ask again."""
        await self._inbox.purge(lambda owner: owner == thread, [self._inbox.shard_of(thread)])
        await self.stop(thread)
        binding = await self._store.binding(thread)
        if binding is not None:
            await self._providers.get(binding.provider).forget(binding)
        posts = await self._store.forget_thread(thread)
        await self._inbox.forget_thread(thread, posts)
        await self._dead.forget(thread, posts)

    async def steer(self, thread: ThreadKey, changes: dict[str, str]) -> bool:
        """Apply changed steering to the thread's live conversation if its provider can;
        True if it did (others keep theirs; the channel's new threads get the change)."""
        binding = await self._store.binding(thread)
        if binding is None:
            return False
        provider = self._providers.get(binding.provider)
        if not isinstance(provider, Steerable) or not await provider.steer(binding, changes):
            return False
        steering = {k: v for k, v in {**binding.steering, **changes}.items() if v}
        await self._store.set_steering(thread, steering)
        return True

    async def posts_seen(self, thread: ThreadKey) -> int:
        """How many posts the thread has had since its conversation's data began."""
        return await self._inbox.accepted(thread)

    async def reset(self, thread: ThreadKey) -> None:
        """Forget the thread's conversation; the next post starts a new one."""
        binding = await self._store.binding(thread)
        if binding is None:
            return
        try:
            await self._providers.get(binding.provider).forget(binding)
        except Exception as exc:
            log.warning("provider could not forget %s: %s", binding.id, exc)
        await self._store.unbind(thread)

    async def binding(self, thread: ThreadKey) -> Conversation | None:
        return await self._store.binding(thread)

    async def channel_settings(self, scope: str) -> dict[str, str]:
        return await self._store.channel_settings(scope)

    async def set_channel_setting(self, scope: str, name: str, value: str) -> None:
        await self._store.set_channel_setting(scope, name, value)

    async def clear_channel_setting(self, scope: str, name: str) -> None:
        await self._store.clear_channel_setting(scope, name)

    async def last_thread(self, scope: str, user: str) -> ThreadKey | None:
        return await self._store.last_thread(scope, user)

    async def set_last_thread(self, scope: str, user: str, thread: ThreadKey) -> None:
        await self._store.set_last_thread(scope, user, thread)

    async def claim_notice(self, thread: ThreadKey, message_id: str) -> bool:
        return await self._store.claim_notice(thread, message_id)

    async def claim_command(self, thread: ThreadKey, message_id: str) -> bool:
        return await self._store.claim_command(thread, message_id)

    async def add_participant(self, thread: ThreadKey, user: str) -> int:
        return await self._store.add_participant(thread, user)

    async def forget_tenant(self, platform: str, tenant: str) -> int:
        """Drop a workspace's or guild's posts still waiting, then its keys and dead letters;
        returns how many keys were deleted."""

        def owned(thread: ThreadKey) -> bool:
            return thread.platform == platform and thread.tenant == tenant

        waiting = await self._inbox.purge(owned)
        deleted = await self._store.forget_tenant(platform, tenant)
        dead = await self._dead.purge(owned)
        log.info(
            "%s %s: dropped %d waiting posts, %d dead letters", platform, tenant, waiting, dead
        )
        return deleted
