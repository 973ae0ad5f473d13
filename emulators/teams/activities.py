"""The activities Teams posts to a bot's messaging endpoint, shaped as Microsoft documents them.

Messages (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/conversation-messages
and …/channel-and-group-conversations): `channelId` "msteams", `serviceUrl`, `from` (`29:…`
user), `recipient` (the bot, `28:<app id>`), `conversation` with `conversationType`
(`personal`, `groupChat`, `channel`) and `tenantId`; in a channel the conversation id names the
thread (`…;messageid=<root id>`), `replyToId` the root for replies, and `channelData` carries
`teamsChannelId`, `teamsTeamId`, `channel`, `team` and `tenant`. A mention is `<at>Name</at>` in
`text` plus a `mention` entity naming the bot (…/conversations/channel-and-group-conversations,
"Mentions"). Adaptive Card buttons (…/task-modules-and-cards/cards/cards-actions): `Action.Submit`
comes back as a `message` activity whose `value` is the button's data and `replyToId` the card's
message; `Action.Execute` as an `invoke` named `adaptiveCard/action` with `value.action.verb`
and `value.action.data` (…/cards/universal-actions-for-adaptive-cards/
work-with-universal-actions-for-adaptive-cards). A press of the feedback loop's like/dislike
(…/bots/how-to/bot-messages-ai-generated-content, "Feedback buttons") is an `invoke` named
`message/submitAction`, `value: {"actionName": "feedback", "actionValue": {"reaction",
"feedback"}}`, `replyToId` the bot message.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from emulators.teams.state import Message

if TYPE_CHECKING:
    from emulators.teams.emulator import TeamsEmulator

STOP = "threadbridge:stop"


class ActivityMaker:
    def __init__(self, emulator: TeamsEmulator, bot_name: str) -> None:
        self.emulator = emulator
        self.bot_name = bot_name

    def _base(self, message: Message, kind: str) -> dict[str, Any]:
        emu = self.emulator
        conversation = emu.state.conversations[message.conversation]
        conversation_id = message.conversation
        if conversation.kind == "channel":
            conversation_id = f"{message.conversation};messageid={message.root}"
        activity: dict[str, Any] = {
            "type": kind,
            "id": message.id,
            "timestamp": datetime.now(UTC).isoformat(),
            "serviceUrl": emu.service_url,
            "channelId": "msteams",
            "from": {"id": message.author, "name": "Alex", "aadObjectId": "aad-alex"},
            "conversation": {
                "conversationType": conversation.kind,
                "tenantId": emu.auth.tenant,
                "id": conversation_id,
                "isGroup": conversation.kind != "personal",
            },
            "recipient": {"id": emu.bot_id, "name": self.bot_name},
            "channelData": {"tenant": {"id": emu.auth.tenant}},
            "locale": "en-US",
        }
        if conversation.kind == "channel":
            activity["channelData"] |= {
                "teamsChannelId": message.conversation,
                "teamsTeamId": conversation.team,
                "channel": {"id": message.conversation},
                "team": {"id": conversation.team},
            }
            if message.root != message.id:
                activity["replyToId"] = message.root
        return activity

    def message(self, message: Message, *, mention: bool) -> dict[str, Any]:
        activity = self._base(message, "message")
        tag = f"<at>{self.bot_name}</at>"
        activity["textFormat"] = "plain"
        activity["text"] = f"{tag} {message.text}" if mention else message.text
        entities: list[dict[str, Any]] = [{"type": "clientInfo", "locale": "en-US"}]
        if mention:
            mentioned = {"id": self.emulator.bot_id, "name": self.bot_name}
            entities.append({"type": "mention", "mentioned": mentioned, "text": tag})
        activity["entities"] = entities
        return activity

    def stop_press(self, card: Message, *, execute: bool) -> dict[str, Any]:
        """A press of the card's Stop button, from the user who posted the thread."""
        press = Message(
            self.emulator.state.next_id(), card.conversation, card.root, "", False, "29:user-alex"
        )
        data = {"action": STOP}
        if execute:
            activity = self._base(press, "invoke")
            activity["name"] = "adaptiveCard/action"
            activity["value"] = {
                "action": {"type": "Action.Execute", "verb": STOP, "data": data},
                "trigger": "manual",
            }
        else:
            activity = self._base(press, "message")
            activity["value"] = data
        activity["replyToId"] = card.id
        return activity

    def feedback_press(
        self, message: Message, reaction: str, text: str, user: str
    ) -> dict[str, Any]:
        """A press of like/dislike under the bot's `message`, with what the person typed."""
        press = Message(
            self.emulator.state.next_id(), message.conversation, message.root, "", False, user
        )
        activity = self._base(press, "invoke")
        activity["name"] = "message/submitAction"
        feedback = json.dumps({"feedbackText": text})
        activity["value"] = {
            "actionName": "feedback",
            "actionValue": {"reaction": reaction, "feedback": feedback},
        }
        activity["replyToId"] = message.id
        return activity
