"""Where CommonMark puts code (bridge.contracts.toolkit.commonmark), checked against the
spec's own examples.

The examples are verbatim from CommonMark 0.31.2 (https://spec.commonmark.org/0.31.2/, with
`→` written as a tab): 4.4 Indented code blocks (107–118), 4.5 Fenced code blocks (119–147) and
6.1 Code spans (328–349). Each row: example number, Markdown, the spec's HTML, and the parts of
the Markdown that are code. The HTML is checked against those parts, so the expectation follows
the spec rather than the implementation.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from bridge.contracts.toolkit.commonmark import code_ranges

INDENTED = [
    (
        107,
        "    a simple\n      indented code block\n",
        "<pre><code>a simple\n  indented code block\n</code></pre>\n",
        ["    a simple\n      indented code block"],
    ),
    (108, "  - foo\n\n    bar\n", "<ul>\n<li>\n<p>foo</p>\n<p>bar</p>\n</li>\n</ul>\n", []),
    (
        109,
        "1.  foo\n\n    - bar\n",
        "<ol>\n<li>\n<p>foo</p>\n<ul>\n<li>bar</li>\n</ul>\n</li>\n</ol>\n",
        [],
    ),
    (
        110,
        "    <a/>\n    *hi*\n\n    - one\n",
        "<pre><code>&lt;a/&gt;\n*hi*\n\n- one\n</code></pre>\n",
        ["    <a/>\n    *hi*\n\n    - one"],
    ),
    (
        111,
        "    chunk1\n\n    chunk2\n  \n \n \n    chunk3\n",
        "<pre><code>chunk1\n\nchunk2\n\n\n\nchunk3\n</code></pre>\n",
        ["    chunk1\n\n    chunk2\n  \n \n \n    chunk3"],
    ),
    (
        112,
        "    chunk1\n      \n      chunk2\n",
        "<pre><code>chunk1\n  \n  chunk2\n</code></pre>\n",
        ["    chunk1\n      \n      chunk2"],
    ),
    (113, "Foo\n    bar\n\n", "<p>Foo\nbar</p>\n", []),
    (114, "    foo\nbar\n", "<pre><code>foo\n</code></pre>\n<p>bar</p>\n", ["    foo"]),
    (
        115,
        "# Heading\n    foo\nHeading\n------\n    foo\n----\n",
        "<h1>Heading</h1>\n<pre><code>foo\n</code></pre>\n"
        "<h2>Heading</h2>\n<pre><code>foo\n</code></pre>\n<hr />\n",
        ["    foo", "    foo"],
    ),
    (
        116,
        "        foo\n    bar\n",
        "<pre><code>    foo\nbar\n</code></pre>\n",
        ["        foo\n    bar"],
    ),
    (117, "\n    \n    foo\n    \n\n", "<pre><code>foo\n</code></pre>\n", ["    foo"]),
    (118, "    foo  \n", "<pre><code>foo  \n</code></pre>\n", ["    foo  "]),
]

FENCED = [
    (119, "```\n<\n >\n```\n", "<pre><code>&lt;\n &gt;\n</code></pre>\n", ["```\n<\n >\n```"]),
    (120, "~~~\n<\n >\n~~~\n", "<pre><code>&lt;\n &gt;\n</code></pre>\n", ["~~~\n<\n >\n~~~"]),
    (121, "``\nfoo\n``\n", "<p><code>foo</code></p>\n", ["``\nfoo\n``"]),
    (122, "```\naaa\n~~~\n```\n", "<pre><code>aaa\n~~~\n</code></pre>\n", ["```\naaa\n~~~\n```"]),
    (123, "~~~\naaa\n```\n~~~\n", "<pre><code>aaa\n```\n</code></pre>\n", ["~~~\naaa\n```\n~~~"]),
    (
        124,
        "````\naaa\n```\n``````\n",
        "<pre><code>aaa\n```\n</code></pre>\n",
        ["````\naaa\n```\n``````"],
    ),
    (
        125,
        "~~~~\naaa\n~~~\n~~~~\n",
        "<pre><code>aaa\n~~~\n</code></pre>\n",
        ["~~~~\naaa\n~~~\n~~~~"],
    ),
    (126, "```\n", "<pre><code></code></pre>\n", ["```"]),
    (127, "`````\n\n```\naaa\n", "<pre><code>\n```\naaa\n</code></pre>\n", ["`````\n\n```\naaa"]),
    (
        128,
        "> ```\n> aaa\n\nbbb\n",
        "<blockquote>\n<pre><code>aaa\n</code></pre>\n</blockquote>\n<p>bbb</p>\n",
        ["> ```\n> aaa"],
    ),
    (129, "```\n\n  \n```\n", "<pre><code>\n  \n</code></pre>\n", ["```\n\n  \n```"]),
    (130, "```\n```\n", "<pre><code></code></pre>\n", ["```\n```"]),
    (
        131,
        " ```\n aaa\naaa\n```\n",
        "<pre><code>aaa\naaa\n</code></pre>\n",
        [" ```\n aaa\naaa\n```"],
    ),
    (
        132,
        "  ```\naaa\n  aaa\naaa\n  ```\n",
        "<pre><code>aaa\naaa\naaa\n</code></pre>\n",
        ["  ```\naaa\n  aaa\naaa\n  ```"],
    ),
    (
        133,
        "   ```\n   aaa\n    aaa\n  aaa\n   ```\n",
        "<pre><code>aaa\n aaa\naaa\n</code></pre>\n",
        ["   ```\n   aaa\n    aaa\n  aaa\n   ```"],
    ),
    (
        134,
        "    ```\n    aaa\n    ```\n",
        "<pre><code>```\naaa\n```\n</code></pre>\n",
        ["    ```\n    aaa\n    ```"],
    ),
    (135, "```\naaa\n  ```\n", "<pre><code>aaa\n</code></pre>\n", ["```\naaa\n  ```"]),
    (136, "   ```\naaa\n  ```\n", "<pre><code>aaa\n</code></pre>\n", ["   ```\naaa\n  ```"]),
    (137, "```\naaa\n    ```\n", "<pre><code>aaa\n    ```\n</code></pre>\n", ["```\naaa\n    ```"]),
    (138, "``` ```\naaa\n", "<p><code> </code>\naaa</p>\n", ["``` ```"]),
    (
        139,
        "~~~~~~\naaa\n~~~ ~~\n",
        "<pre><code>aaa\n~~~ ~~\n</code></pre>\n",
        ["~~~~~~\naaa\n~~~ ~~"],
    ),
    (
        140,
        "foo\n```\nbar\n```\nbaz\n",
        "<p>foo</p>\n<pre><code>bar\n</code></pre>\n<p>baz</p>\n",
        ["```\nbar\n```"],
    ),
    (
        141,
        "foo\n---\n~~~\nbar\n~~~\n# baz\n",
        "<h2>foo</h2>\n<pre><code>bar\n</code></pre>\n<h1>baz</h1>\n",
        ["~~~\nbar\n~~~"],
    ),
    (
        142,
        "```ruby\ndef foo(x)\n  return 3\nend\n```\n",
        '<pre><code class="language-ruby">def foo(x)\n  return 3\nend\n</code></pre>\n',
        ["```ruby\ndef foo(x)\n  return 3\nend\n```"],
    ),
    (
        143,
        "~~~~    ruby startline=3 $%@#$\ndef foo(x)\n  return 3\nend\n~~~~~~~\n",
        '<pre><code class="language-ruby">def foo(x)\n  return 3\nend\n</code></pre>\n',
        ["~~~~    ruby startline=3 $%@#$\ndef foo(x)\n  return 3\nend\n~~~~~~~"],
    ),
    (144, "````;\n````\n", '<pre><code class="language-;"></code></pre>\n', ["````;\n````"]),
    (145, "``` aa ```\nfoo\n", "<p><code>aa</code>\nfoo</p>\n", ["``` aa ```"]),
    (
        146,
        "~~~ aa ``` ~~~\nfoo\n~~~\n",
        '<pre><code class="language-aa">foo\n</code></pre>\n',
        ["~~~ aa ``` ~~~\nfoo\n~~~"],
    ),
    (147, "```\n``` aaa\n```\n", "<pre><code>``` aaa\n</code></pre>\n", ["```\n``` aaa\n```"]),
]

CODE_SPANS = [
    (328, "`foo`\n", "<p><code>foo</code></p>\n", ["`foo`"]),
    (329, "`` foo ` bar ``\n", "<p><code>foo ` bar</code></p>\n", ["`` foo ` bar ``"]),
    (330, "` `` `\n", "<p><code>``</code></p>\n", ["` `` `"]),
    (331, "`  ``  `\n", "<p><code> `` </code></p>\n", ["`  ``  `"]),
    (332, "` a`\n", "<p><code> a</code></p>\n", ["` a`"]),
    (333, "`\xa0b\xa0`\n", "<p><code>\xa0b\xa0</code></p>\n", ["`\xa0b\xa0`"]),
    (334, "`\xa0`\n`  `\n", "<p><code>\xa0</code>\n<code>  </code></p>\n", ["`\xa0`", "`  `"]),
    (
        335,
        "``\nfoo\nbar  \nbaz\n``\n",
        "<p><code>foo bar   baz</code></p>\n",
        ["``\nfoo\nbar  \nbaz\n``"],
    ),
    (336, "``\nfoo \n``\n", "<p><code>foo </code></p>\n", ["``\nfoo \n``"]),
    (337, "`foo   bar \nbaz`\n", "<p><code>foo   bar  baz</code></p>\n", ["`foo   bar \nbaz`"]),
    (338, "`foo\\`bar`\n", "<p><code>foo\\</code>bar`</p>\n", ["`foo\\`"]),
    (339, "``foo`bar``\n", "<p><code>foo`bar</code></p>\n", ["``foo`bar``"]),
    (340, "` foo `` bar `\n", "<p><code>foo `` bar</code></p>\n", ["` foo `` bar `"]),
    (341, "*foo`*`\n", "<p>*foo<code>*</code></p>\n", ["`*`"]),
    (342, "[not a `link](/foo`)\n", "<p>[not a <code>link](/foo</code>)</p>\n", ["`link](/foo`"]),
    (
        343,
        '`<a href="`">`\n',
        "<p><code>&lt;a href=&quot;</code>&quot;&gt;`</p>\n",
        ['`<a href="`'],
    ),
    (344, '<a href="`">`\n', '<p><a href="`">`</p>\n', []),
    (
        345,
        "`<https://foo.bar.`baz>`\n",
        "<p><code>&lt;https://foo.bar.</code>baz&gt;`</p>\n",
        ["`<https://foo.bar.`"],
    ),
    (
        346,
        "<https://foo.bar.`baz>`\n",
        '<p><a href="https://foo.bar.%60baz">https://foo.bar.`baz</a>`</p>\n',
        [],
    ),
    (347, "```foo``\n", "<p>```foo``</p>\n", []),
    (348, "`foo\n", "<p>`foo</p>\n", []),
    (349, "`foo``bar``\n", "<p>`foo<code>bar</code></p>\n", ["``bar``"]),
]


def _code_parts(markdown: str) -> list[str]:
    return [markdown[start:end] for start, end in code_ranges(markdown)]


def _squashed(text: str) -> str:
    return re.sub(r"\s", "", text)


@pytest.mark.parametrize(
    ("number", "markdown", "html", "code"),
    INDENTED + FENCED + CODE_SPANS,
    ids=[f"example-{row[0]}" for row in INDENTED + FENCED + CODE_SPANS],
)
def test_spec_example(number: int, markdown: str, html: str, code: list[str]) -> None:
    rendered = [unescape(c) for c in re.findall(r"<code[^>]*>(.*?)</code>", html, re.DOTALL)]
    assert len(rendered) == len(code), "the expectation disagrees with the spec's HTML"
    for shown, source in zip(rendered, code, strict=True):
        assert _squashed(shown) in _squashed(source)
    assert _code_parts(markdown) == code


@pytest.mark.parametrize(
    "markdown",
    [
        "hey ``` <!channel>",
        "``<!here>`",
        "\\`<!everyone>\\`",
        "a ``` b\n<!here>",
        "    \n\npara\n    <!here>",
    ],
)
def test_text_that_only_looks_like_code(markdown: str) -> None:
    assert _code_parts(markdown) == []


def test_containers_and_line_endings_keep_exact_offsets() -> None:
    text = (
        "> quoted `a\r\n> b` and\r\n"
        "- item\n\n  ```sh\n  <!here>\n  ```\n"
        "# Title `<!channel>` #\n"
        "1. 1 `x`\r"
        "\tindented <!everyone>\n"
    )
    assert _code_parts(text) == [
        "`a\r\n> b`",
        "  ```sh\n  <!here>\n  ```",
        "`<!channel>`",
        "`x`",
    ]
