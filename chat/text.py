"""Small text helpers shared by actions and the relay."""

import re

from markdown_it import MarkdownIt

_TITLE_CHARS = 60
# Only to read a title's words out of a line of Markdown: nothing parsed here is ever rendered.
_MARKDOWN = MarkdownIt("commonmark")
_FENCE = re.compile(r"^(```|~~~)")
_LINE_CHARS = 300  # of each line looked at: a title needs few, and parsing stays cheap whatever was pasted
_LINES = 20


def clean_text(text) -> str:
    """Text PostgreSQL can store: no NUL bytes, no lone surrogates (both can come from users and models)."""
    if not isinstance(text, str):
        return ""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def title_from(text: str) -> str:
    """A chat's title from its first message: the first line with words in it, without Markdown's marks
    ("# Plan for **Monday**" → "Plan for Monday"; a code fence's opening line is skipped), shortened to a
    sidebar row. A message with no such line keeps all its words."""
    title = ""
    for line in text.splitlines()[:_LINES]:
        line = line.strip()
        if line and not _FENCE.match(line):
            title = _words_of(line[:_LINE_CHARS])
            if title:
                break
    title = title or " ".join(text.split())
    return title if len(title) <= _TITLE_CHARS else title[: _TITLE_CHARS - 1].rstrip() + "…"


def _words_of(line: str) -> str:
    """The text a reader sees in one line of Markdown: its words, inline code and image descriptions."""
    parts = []
    for token in _MARKDOWN.parse(line):
        for child in token.children or ():
            if child.type in ("text", "code_inline", "image"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append(" ")
    return " ".join("".join(parts).split())
