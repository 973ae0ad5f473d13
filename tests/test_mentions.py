"""Model text never pings anyone on Slack; code stays byte-exact.

Slack has no `allowed_mentions`: every `<!channel>`, `<!here>`, `<!everyone>`, `<@U…>` /
`<@W…>` and `<!subteam^…>` outside code is made inert (still reads `@name`). Discord's
`allowed_mentions` none is checked in tests/test_discord_e2e.py.
"""

from __future__ import annotations

import re

import pytest

from adapters.slack.format import WORD_JOINER, defuse_mentions
from tests.harness import slack_bridge

CHANNEL = "C1"
FORMS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U024BE7LH>",
    "<@W0123ABC|carol>",
    "<!subteam^SAZ94GDB8|@design>",
    "<!here|here>",
    "<!subteam^S99>",
]
PINGS = re.compile(
    r"<[!@](?:channel|here|everyone|subteam\^|U|W)[^>]*>|(?<![\w@])@(here|channel|everyone)\b"
)


def outside_code(text: str) -> str:
    return re.sub(r"```.*?```|`[^`\n]+`", "", text, flags=re.DOTALL)


def test_every_form_is_defused_outside_code_and_kept_inside() -> None:
    prose = " and ".join(FORMS) + " plus plain @here, @channel and @everyone."
    inline = "`" + " ".join(FORMS) + "`"
    fence = "```\n" + "\n".join(FORMS) + "\n@here\n```"
    text = f"{prose}\n\nInline {inline} stays.\n\n{fence}\n\nAfter: {FORMS[0]}"
    out = defuse_mentions(text)
    assert PINGS.search(outside_code(out)) is None, out
    assert inline in out and fence in out
    assert out.replace(WORD_JOINER, "").count("@channel") >= 3
    assert "@\u2060design" in out and "@\u2060carol" in out


def test_links_and_channel_references_are_untouched() -> None:
    text = "See <https://example.com|the docs>, <#C123|general>, <!date^1392734382^{date}|x>, a@b.c"
    assert defuse_mentions(text) == text


J = WORD_JOINER


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hey ``` <!channel>", f"hey ``` @{J}channel"),
        ("``<!here>`", f"``@{J}here`"),
        ("\\`<!everyone>\\`", f"\\`@{J}everyone\\`"),
        ("a ``` b\n<!here>", f"a ``` b\n@{J}here"),
        ("`a` <!here> `b`", f"`a` @{J}here `b`"),
    ],
    ids=[
        "unclosed-fence-mid-line",
        "unmatched-backticks",
        "escaped-backticks",
        "no-fence",
        "between",
    ],
)
def test_text_markdown_renders_as_text_is_defused(text: str, expected: str) -> None:
    """CommonMark (https://spec.commonmark.org/0.31.2/#code-spans) renders these as text."""
    assert defuse_mentions(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!HERE>", f"@{J}HERE"),
        ("<!Channel>", f"@{J}Channel"),
        ("<!everyone|Everyone>", f"@{J}Everyone"),
        ("<!EVERYONE>", f"@{J}EVERYONE"),
        ("<!SubTeam^S99|@design>", f"@{J}design"),
        ("<!SUBTEAM^S99>", f"@{J}S99"),
    ],
)
def test_broadcast_names_match_in_any_case(text: str, expected: str) -> None:
    assert defuse_mentions(f"Hi {text}!") == f"Hi {expected}!"


@pytest.mark.parametrize(
    "text",
    [
        "``<!here>``",
        "`` ` <!here> ` ``",
        "```\n<!here>",
        "    <!channel> in an indented block",
        "> ```\n> <!channel>\n> ```",
        "~~~\n<!HERE>\n~~~",
        "- item\n\n      <@U024BE7LH>",
    ],
)
def test_code_as_commonmark_finds_it_stays_byte_exact(text: str) -> None:
    assert defuse_mentions(text) == text


async def test_slack_reply_pings_nobody(redis_url: str, prefix: str) -> None:
    prose = "Heads up " + ", ".join(FORMS) + " and @here."
    code = "Run `echo <!channel>` or:\n\n```sh\nnotify '<@U024BE7LH>' '<!here>'\n```"
    text = f"{prose}\n\n{code}\n\nThanks <!everyone>!"
    async with slack_bridge(redis_url, prefix) as env:
        env.neuroflash.script(text)
        root = await env.slack.user_post(CHANNEL, "<@UBOT> announce something")
        await env.wait(lambda: "Thanks" in env.reply_text(CHANNEL, root), timeout=30)
        await env.wait(lambda: env.reply_text(CHANNEL, root).endswith("!"), timeout=30)
        shown = env.reply_text(CHANNEL, root)
        every_write = [e for m in env.replies(CHANNEL, root) for e in m.edits]
    for written in every_write:
        assert PINGS.search(outside_code(written)) is None, written
    assert code in shown
    assert shown == defuse_mentions(text)
    assert shown.replace(WORD_JOINER, "").count("@here") == 3
