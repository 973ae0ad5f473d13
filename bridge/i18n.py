"""The bot's own texts (notices, errors, confirmations) in English and German.

The language comes from the user's locale where the messenger gives one (Slack `users.info`
with `include_locale`, Discord's interaction `locale`), else BRIDGE_LOCALE.
"""

from __future__ import annotations

from bridge.deadlines import NOTICES

LANGUAGES = ("en", "de")

CATALOG: dict[str, dict[str, str]] = {
    "assistant_status": {"en": "is thinking…", "de": "denkt nach…"},
    "assistant_prompts_title": {"en": "How can I help?", "de": "Wie kann ich helfen?"},
    "assistant_prompts": {
        "en": "Brainstorm ideas => Help me brainstorm ideas for my next project. | "
        "Explain something => Explain a technical concept to me in simple terms. | "
        "Draft a message => Help me draft a short, friendly message to my team.",
        "de": "Ideen sammeln => Hilf mir, Ideen für mein nächstes Projekt zu sammeln. | "
        "Etwas erklären => Erkläre mir ein Fachthema in einfachen Worten. | "
        "Nachricht entwerfen => Hilf mir, eine kurze, freundliche Nachricht an mein Team "
        "zu schreiben.",
    },
    "usage": {
        "en": "Usage: {command} new | stop | forget | status | config [name value]",
        "de": "Verwendung: {command} new | stop | forget | status | config [Name Wert]",
    },
    "not_in_thread": {
        "en": "Use this in a thread the bot answers in (or post in one first).",
        "de": "Nutze das in einem Thread, in dem der Bot antwortet (oder schreibe dort zuerst).",
    },
    "new_done": {
        "en": "Fresh start: the next post in this thread begins a new conversation.",
        "de": "Neuanfang: Der nächste Beitrag in diesem Thread beginnt ein neues Gespräch.",
    },
    "stop_done": {
        "en": "Stopped the running reply.",
        "de": "Die laufende Antwort wurde angehalten.",
    },
    "forget_confirm": {
        "en": "This deletes the thread's conversation at the provider and everything the bot "
        "keeps about it. Run `{command} forget confirm` to go ahead.",
        "de": "Das löscht das Gespräch dieses Threads beim Anbieter und alles, was der Bot dazu "
        "speichert. Mit `{command} forget confirm` bestätigen.",
    },
    "forget_done": {
        "en": "Forgotten: this thread's conversation and all its data are deleted.",
        "de": "Vergessen: Das Gespräch dieses Threads und alle seine Daten sind gelöscht.",
    },
    "status": {
        "en": "Provider: {provider}\nConversation: {conversation}\nMessages so far: {messages}\n"
        "Busy policy: {policy}",
        "de": "Anbieter: {provider}\nGespräch: {conversation}\nBisherige Nachrichten: {messages}\n"
        "Verhalten bei laufender Antwort: {policy}",
    },
    "none": {"en": "none yet", "de": "noch keines"},
    "config_refused": {
        "en": "Only admins may change this channel's settings.",
        "de": "Nur Admins dürfen die Einstellungen dieses Kanals ändern.",
    },
    "config_show": {
        "en": "This channel's settings:\n{settings}",
        "de": "Einstellungen dieses Kanals:\n{settings}",
    },
    "config_set": {
        "en": "This channel's new threads now use {name} = {value}.",
        "de": "Neue Threads dieses Kanals verwenden jetzt {name} = {value}.",
    },
    "config_live": {
        "en": "This thread's conversation uses it from now on.",
        "de": "Das Gespräch dieses Threads verwendet das ab sofort.",
    },
    "config_bad": {
        "en": "Unknown setting or value: {name}. Settings: {names}.",
        "de": "Unbekannte Einstellung oder ungültiger Wert: {name}. Einstellungen: {names}.",
    },
    "refused": {
        "en": "🚫 Sorry, I am not enabled for you here.",
        "de": "🚫 Entschuldigung, hier bin ich für dich nicht freigeschaltet.",
    },
    "stopped": {"en": "⏹️ Stopped.", "de": "⏹️ Angehalten."},
    "start_failed": {
        "en": "⚠️ I could not start the conversation. Please try again later. (ref {ref})",
        "de": "⚠️ Ich konnte das Gespräch nicht beginnen. Bitte später noch einmal. (ref {ref})",
    },
    "cut_time": {
        "en": NOTICES["time"],
        "de": "⏱️ Die Antwort dauerte zu lange und wurde hier abgeschnitten.",
    },
    "cut_idle": {
        "en": NOTICES["idle"],
        "de": "⏱️ Der Anbieter schickte keinen Text mehr; die Antwort wurde hier abgeschnitten.",
    },
    "cut_size": {
        "en": NOTICES["size"],
        "de": "✂️ Die Antwort erreichte ihre Höchstlänge und wurde hier abgeschnitten.",
    },
    "interrupted": {
        "en": "⚠️ The previous answer was interrupted; here it is again.",
        "de": "⚠️ Die vorige Antwort wurde unterbrochen; hier ist sie noch einmal.",
    },
    "empty_answer": {
        "en": "The provider sent an empty answer.",
        "de": "Der Anbieter hat eine leere Antwort geschickt.",
    },
    "ended_early": {
        "en": "⚠️ The answer ended unexpectedly.",
        "de": "⚠️ Die Antwort brach unerwartet ab.",
    },
    "session_expired": {
        "en": "ℹ️ The previous session had expired; this is a fresh one.",
        "de": "ℹ️ Die vorige Sitzung war abgelaufen; dies ist eine neue.",
    },
    "thinking": {"en": "💭 Thinking…", "de": "💭 Denkt nach…"},
    "reasoning": {"en": "💭 Reasoning", "de": "💭 Gedankengang"},
    "command_done": {"en": "Done.", "de": "Erledigt."},
    "command_working": {"en": "Working on it…", "de": "Wird erledigt…"},
    "command_refused": {"en": "Not possible.", "de": "Nicht möglich."},
    "command_failed": {
        "en": "⚠️ That did not work (ref {ref}); please try again in a moment.",
        "de": "⚠️ Das hat nicht geklappt (ref {ref}); bitte versuche es gleich noch einmal.",
    },
    "attachment": {"en": "[attachment: {name}]", "de": "[Anhang: {name}]"},
    "feedback_thanks_up": {
        "en": "👍 Thanks for your feedback!",
        "de": "👍 Danke für deine Rückmeldung!",
    },
    "feedback_thanks_down": {
        "en": "👎 Thanks for your feedback; it helps us improve the answers.",
        "de": "👎 Danke für deine Rückmeldung; sie hilft, die Antworten zu verbessern.",
    },
    "feedback_gone": {
        "en": "Sorry, this thread was forgotten, so feedback on it is no longer kept.",
        "de": "Entschuldigung, dieser Thread wurde vergessen; Rückmeldungen dazu werden nicht "
        "mehr gespeichert.",
    },
    "link_refused": {
        "en": "🚫 You cannot use that thread: only people who can see it may.",
        "de": "🚫 Diesen Thread kannst du nicht nutzen: Das dürfen nur Personen, die ihn "
        "sehen können.",
    },
    "link_unknown": {
        "en": "That link does not lead to a thread.",
        "de": "Dieser Link führt zu keinem Thread.",
    },
}


def language(locale: str | None, default: str = "en") -> str:
    """`de` for any German locale (`de`, `de-DE`, `de_AT`), else `en`, else `default`."""
    for candidate in (locale, default):
        if candidate:
            head = candidate.replace("_", "-").split("-")[0].lower()
            if head in LANGUAGES:
                return head
    return "en"


def text(key: str, locale: str | None = None, default: str = "en", **values: object) -> str:
    """The catalog text `key` in the user's language, filled with `values`."""
    entry = CATALOG[key]
    return entry[language(locale, default)].format(**values)
