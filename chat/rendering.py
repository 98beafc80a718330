"""Markdown rendering for LLM output (attacker-controlled text).

Model output is untrusted: a prompt injection can make the model emit any
string. The pipeline is therefore:

1. ``_prepare``: coerce to ``str``, replace lone surrogates with U+FFFD,
   drop NUL and other C0 control characters (except TAB/LF/CR) and DEL.
2. markdown-it-py, "js-default" preset (``html=False``; the "commonmark"
   and "gfm-like" presets enable raw HTML and must never be used), with
   linkify, tables and strikethrough on, typographer off, and a strict
   ``validateLink`` that accepts only ``http:``, ``https:`` and ``mailto:``.
   Fenced code is highlighted with Pygments. Images are rendered as plain
   links (never ``<img>``), so model output cannot make the browser fetch a
   URL by itself (tracking pixels / exfiltration through image URLs).
3. nh3 sanitises the FINAL HTML with explicit tag/attribute/class
   allow-lists. This is the security boundary; steps 1-2 are defence in
   depth and cosmetics.

Code highlighting CSS classes
-----------------------------
Fenced blocks render as ``<pre><code>...</code></pre>``. For languages in
``HIGHLIGHT_LANGUAGES`` (any alias of those lexers), Pygments
tokens are ``<span class="tok-XX">`` where ``XX`` is the Pygments
short token name (``tok-k`` keyword, ``tok-nf`` function name, ``tok-s2``
double-quoted string, ``tok-c1`` comment, ...; see
``pygments.token.STANDARD_TYPES``). No other class survives sanitisation
(``language-*`` on ``<code>`` is stripped). ``pygments_css()`` builds a
matching light/dark stylesheet scoped to the message container.

Links get ``rel="noopener noreferrer nofollow"`` and ``target="_blank"``;
tables keep column alignment as ``align="left|center|right"``.
"""

from __future__ import annotations

import contextvars
import functools
import html
import itertools
import re
import time
from collections.abc import Iterator

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from pygments import format as _pygments_format
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import find_lexer_class_by_name
from pygments.token import STANDARD_TYPES

try:  # Optional: lets Django templates use the result without |safe.
    from django.utils.safestring import mark_safe as _mark_safe
except ImportError:  # pragma: no cover - Django is a project dependency

    def _mark_safe(s: str) -> str:
        return s


__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_CLASSES",
    "ALLOWED_TAGS",
    "ALLOWED_URL_SCHEMES",
    "HIGHLIGHT_CLASS_PREFIX",
    "LINK_REL",
    "pygments_css",
    "render_markdown",
    "render_plain",
]

# --------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------

#: Above this many characters the reply is shown as escaped plain text
#: instead of Markdown (bounds worst-case CPU per render).
MAX_MARKDOWN_CHARS = 100_000
#: With more "[" than this, link/image syntax is not parsed (bare URLs are
#: still linkified). markdown-it-py spends up to ~60 us per "[" (measured), so
#: this bounds a bracket flood; ordinary replies have far fewer.
MAX_LINK_BRACKETS = 3_000
#: Code blocks longer than this are not highlighted.
MAX_HIGHLIGHT_CHARS = 20_000
#: Many Pygments lexers are quadratic on hostile input (measured: the Java
#: lexer takes ~17 s on 20 KB of random punctuation, the INI lexer ~2 s for a
#: single regex match on 20 KB). Two bounds: code is lexed in chunks of at
#: most HIGHLIGHT_CHUNK_CHARS (split at line boundaries, preferably blank
#: lines; lexer state restarts per chunk, which can only mis-colour a
#: multi-line string spanning a cut), and tokens are pulled through a
#: wall-clock deadline per render_markdown() call (all blocks together). A
#: block that runs out of budget, and every block after it, is shown as plain
#: escaped text. Normal code takes ~1-3 ms per KB.
HIGHLIGHT_CHUNK_CHARS = 4_000
MAX_HIGHLIGHT_LINE_CHARS = 2_000
HIGHLIGHT_BUDGET_SECONDS = 0.25

# --------------------------------------------------------------------------
# Sanitiser policy
# --------------------------------------------------------------------------

HIGHLIGHT_CLASS_PREFIX = "tok-"
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr",
        "strong", "em", "s", "del", "code", "pre", "span",
        "blockquote", "ul", "ol", "li",
        "h1", "h2", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td",
        "a",
    }
)  # fmt: skip

#: Free-valued attributes. ``rel``/``target`` on <a> are *set* by nh3, never
#: taken from the input. ``class`` is handled by ``ALLOWED_CLASSES``.
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href"},
    "ol": {"start"},
}

#: Attributes allowed only with these exact values.
_ALIGN_VALUES = {"left", "center", "right"}
ALLOWED_ATTRIBUTE_VALUES: dict[str, dict[str, set[str]]] = {
    "th": {"align": set(_ALIGN_VALUES)},
    "td": {"align": set(_ALIGN_VALUES)},
}

#: Only Pygments token classes, only on <span>.
ALLOWED_CLASSES: dict[str, set[str]] = {
    "span": {HIGHLIGHT_CLASS_PREFIX + short for short in STANDARD_TYPES.values() if short},
}

_SAFE_HREF_RE = re.compile(r"(?:https?://|mailto:)", re.IGNORECASE)


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    # Defence in depth on top of url_schemes / url_relative="deny".
    if attr == "href" and not _SAFE_HREF_RE.match(value.strip()):
        return None
    if attr == "start" and not (value.isascii() and value.isdigit()):
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_attribute_filter,
    strip_comments=True,
    link_rel=LINK_REL,
    generic_attribute_prefixes=set(),
    tag_attribute_values=ALLOWED_ATTRIBUTE_VALUES,
    # target=_blank is safe here because rel always contains noopener (no
    # window.opener / reverse tabnabbing) and noreferrer (the conversation
    # URL does not leak). It keeps the chat page (and any running stream)
    # open when a user follows a link from a reply.
    set_tag_attribute_values={"a": {"target": "_blank"}},
    url_schemes=set(ALLOWED_URL_SCHEMES),
    url_relative="deny",
    allowed_classes=ALLOWED_CLASSES,
)


def _sanitize(fragment: str) -> str:
    """Sanitise an HTML fragment with the message allow-list."""
    return _CLEANER.clean(fragment)


# --------------------------------------------------------------------------
# Markdown engine
# --------------------------------------------------------------------------

#: Languages highlighted by Pygments, as each lexer's primary alias (any
#: other alias of the same lexer works too: py, sh, js, ts, yml, c++, ...).
#: Deliberately not "every Pygments lexer": some lexers backtrack
#: catastrophically on hostile input (e.g. "mcschema" takes >5 s on 5 KB of
#: random punctuation). Every lexer listed here was fuzzed at 40 KB of
#: hostile input and stayed under ~0.1 s.
HIGHLIGHT_LANGUAGES = frozenset(
    {
        "python", "pycon", "javascript", "jsx", "typescript", "tsx", "json", "json5",
        "bash", "powershell", "batch", "html", "xml", "css", "scss",
        "sql", "postgresql", "mysql", "go", "rust", "java", "kotlin", "swift",
        "c", "cpp", "csharp", "objective-c", "ruby", "php", "perl", "lua",
        "splus", "scala", "haskell", "elixir", "erlang", "clojure", "dart", "julia",
        "matlab", "ocaml", "fsharp", "zig", "nimrod", "yaml", "toml", "ini",
        "docker", "make", "cmake", "nginx", "apacheconf", "diff", "markdown", "tex",
        "graphql", "protobuf", "terraform", "vim", "groovy", "common-lisp", "scheme",
        "emacs-lisp", "prolog", "fortran", "vb.net", "nasm", "gas", "llvm", "django",
        "handlebars", "properties", "http",
    }
)  # fmt: skip

_FORMATTER = HtmlFormatter(nowrap=True, classprefix=HIGHLIGHT_CLASS_PREFIX)


@functools.lru_cache(maxsize=512)
def _lexer_class(lang: str) -> type[Lexer] | None:
    if not lang or len(lang) > 40:
        return None
    try:
        cls = find_lexer_class_by_name(lang)
    except Exception:  # pygments.util.ClassNotFound and anything odd
        return None
    if not cls.aliases or cls.aliases[0] not in HIGHLIGHT_LANGUAGES:
        return None
    return cls


class _OverBudget(Exception):
    pass


#: Deadline (time.perf_counter() value) for highlighting in the current render.
_HIGHLIGHT_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "novaweb_highlight_deadline", default=None
)


def _within(tokens: Iterator[tuple], deadline: float) -> Iterator[tuple]:
    perf_counter = time.perf_counter
    for tok in tokens:
        if perf_counter() > deadline:
            raise _OverBudget
        yield tok


def _chunks(code: str) -> Iterator[str]:
    """Split code at line boundaries (preferably blank lines) into pieces of at
    most HIGHLIGHT_CHUNK_CHARS, so one regex match never scans more than that."""
    chunk: list[str] = []
    size = 0
    for line in code.splitlines(keepends=True):
        if len(line) > MAX_HIGHLIGHT_LINE_CHARS:
            raise _OverBudget
        if chunk and (
            size + len(line) > HIGHLIGHT_CHUNK_CHARS
            or (size >= HIGHLIGHT_CHUNK_CHARS // 2 and not line.strip())
        ):
            yield "".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += len(line)
    if chunk:
        yield "".join(chunk)


def _highlight(code: str, lang: str, _attrs: str) -> str:
    """markdown-it ``highlight`` hook. Returns "" to make markdown-it escape."""
    if len(code) > MAX_HIGHLIGHT_CHARS:
        return ""
    try:
        cls = _lexer_class(lang.lower())
        if cls is None:
            return ""
        deadline = _HIGHLIGHT_DEADLINE.get()
        if deadline is None:
            deadline = time.perf_counter() + HIGHLIGHT_BUDGET_SECONDS
        elif time.perf_counter() > deadline:
            return ""
        lexer = cls(stripnl=False, ensurenl=False)
        tokens = itertools.chain.from_iterable(map(lexer.get_tokens, _chunks(code)))
        return _pygments_format(_within(tokens, deadline), _FORMATTER)
    except Exception:  # over budget, or a lexer bug: plain escaped text
        return ""


def _validate_link(url: str) -> bool:
    """Stricter than markdown-it's default (which allows data:image/* and
    relative URLs): only absolute http(s) and mailto links become links."""
    return bool(_SAFE_HREF_RE.match(url))


_LINK_DEPTH = "_novaweb_link_depth"


def _render_link_open(self, tokens, idx, options, env) -> str:
    env[_LINK_DEPTH] = env.get(_LINK_DEPTH, 0) + 1
    return self.renderToken(tokens, idx, options, env)


def _render_link_close(self, tokens, idx, options, env) -> str:
    env[_LINK_DEPTH] = env.get(_LINK_DEPTH, 0) - 1
    return self.renderToken(tokens, idx, options, env)


def _render_image(self, tokens, idx, options, env) -> str:
    """Render ``![alt](src)`` as a link, never as <img> (no automatic fetch)."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = token.attrGet("src") or ""
    if env.get(_LINK_DEPTH, 0) > 0 or not src:  # no <a> inside <a>
        return escapeHtml(alt)
    label = alt if alt.strip() else src
    return f'<a href="{escapeHtml(src)}">{escapeHtml(label)}</a>'


def _render_cell_open(self, tokens, idx, options, env) -> str:
    """Table cells: ``style="text-align:X"`` (stripped by nh3) -> ``align="X"``."""
    token = tokens[idx]
    style = token.attrGet("style")
    if isinstance(style, str) and style.startswith("text-align:"):
        token.attrs = {"align": style[len("text-align:") :]}
    return self.renderToken(tokens, idx, options, env)


def _build_markdown() -> MarkdownIt:
    md = MarkdownIt(
        "js-default",
        {"html": False, "linkify": True, "typographer": False, "highlight": _highlight},
    )
    md.enable(["linkify", "table", "strikethrough"])
    # html=False already makes these rules no-ops; disable them as well.
    md.disable(["html_block", "html_inline"])
    md.validateLink = _validate_link  # type: ignore[method-assign]
    md.add_render_rule("image", _render_image)
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("link_close", _render_link_close)
    md.add_render_rule("th_open", _render_cell_open)
    md.add_render_rule("td_open", _render_cell_open)
    return md


_MD = _build_markdown()
#: Fallback engine for bracket floods: no [text](url) / ![alt](src) parsing.
_MD_NO_LINK_SYNTAX = _build_markdown().disable(["link", "image"])

# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _prepare(text: object) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    # Lone surrogates -> U+FFFD (valid pairs written as two escapes are joined).
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _CONTROL_RE.sub("", text)


def _plain_html(text: str) -> str:
    return "<p>" + html.escape(text).replace("\n", "<br>\n") + "</p>" if text else ""


def render_markdown(text: str) -> str:
    """Render untrusted Markdown to sanitised HTML (a ``SafeString``).

    Never raises for ``str`` input. Raw HTML in the input is shown as text.
    """
    try:
        text = _prepare(text)
    except Exception:
        return _mark_safe("")
    if len(text) > MAX_MARKDOWN_CHARS:
        return _mark_safe(_plain_html(text))
    md = _MD if text.count("[") <= MAX_LINK_BRACKETS else _MD_NO_LINK_SYNTAX
    budget = _HIGHLIGHT_DEADLINE.set(time.perf_counter() + HIGHLIGHT_BUDGET_SECONDS)
    try:
        return _mark_safe(_sanitize(md.render(text, {})))
    except Exception:
        # Last resort; escaped text cannot carry markup.
        return _mark_safe(_plain_html(text))
    finally:
        _HIGHLIGHT_DEADLINE.reset(budget)


def render_plain(text: str) -> str:
    """HTML-escape text (for the streaming phase). Returns a plain ``str``."""
    try:
        return html.escape(_prepare(text))
    except Exception:
        return ""


def pygments_css(
    style_light: str = "default",
    style_dark: str = "monokai",
    scope: str = ".markdown",
    dark_selector: str | None = None,
) -> str:
    """CSS for highlighted code in rendered messages, light and dark.

    ``scope`` is the selector of the container holding ``render_markdown``
    output. Dark rules go in ``@media (prefers-color-scheme: dark)`` or, if
    ``dark_selector`` is given (e.g. ``'[data-theme="dark"]'``), under
    ``{dark_selector} {scope}``.
    """
    pre = f"{scope} pre"

    def defs(style: str, selector: str) -> list[str]:
        fmt = HtmlFormatter(style=style, classprefix=HIGHLIGHT_CLASS_PREFIX)
        rules = fmt.get_background_style_defs(selector) + fmt.get_token_style_defs(selector)
        return [r for r in rules if ".hll" not in r]

    light = defs(style_light, pre)
    if dark_selector:
        dark_pre = f"{dark_selector} {pre}"
        reset = _token_reset(dark_pre)
        dark = [reset, *defs(style_dark, dark_pre)]
        return "\n".join([*light, *dark]) + "\n"
    dark = [_token_reset(pre), *defs(style_dark, pre)]
    body = "\n".join("  " + r for r in dark)
    return "\n".join(light) + "\n@media (prefers-color-scheme: dark) {\n" + body + "\n}\n"


def _token_reset(selector: str) -> str:
    # Keeps light-theme bold/italic/colours from bleeding into the dark theme.
    return (
        f'{selector} [class^="{HIGHLIGHT_CLASS_PREFIX}"] '
        "{ color: inherit; background-color: transparent; font-weight: inherit; "
        "font-style: inherit; text-decoration: inherit; border: 0 }"
    )
