"""Highlighted passages of search results, as plain text segments (the template escapes them; no HTML here).

PostgreSQL marks the matches (`ts_headline` with `HighlightAll`) in the *folded* text, between two
private-use delimiters that the folded text cannot contain (chat/search.py blanks them first). Folding maps
every character to exactly one character, so the positions of the marks in the folded text are their positions
in the original (NFC) text, which is what is shown: accents, underscores and all.
"""

import re
from dataclasses import dataclass

START, STOP = "\ue000", "\ue001"
# A passage: some context before the first match in it, more after.
BEFORE, AFTER = 60, 160
# Unmarked text shown for a match PostgreSQL could not point at (e.g. past the highlighted length).
LEAD = 200

_SPACES = re.compile(r"\s+")
_WORD_TAIL = re.compile(r"\w*")
_JOINERS = "_-."


@dataclass(frozen=True)
class Passage:
    segments: tuple[tuple[str, bool], ...]  # (text, is a match), in order
    cut_before: bool  # the text goes on before / after the passage
    cut_after: bool

    @property
    def terms(self) -> str:
        """The marked words, once each (the conversation page highlights them in the message it opens at)."""
        words = dict.fromkeys(text.strip() for text, marked in self.segments if marked and text.strip())
        return " ".join(list(words)[:6])


def marked_ranges(original: str, marked: str, prefix: str = "") -> list[tuple[int, int]] | None:
    """The [start, end) ranges of `original` that `marked` (the folded text with START/STOP around matches)
    highlights, plus every word starting with `prefix` (folded; the word being typed, which PostgreSQL
    matches against words as written while `ts_headline` sees stems). None when `marked` does not line up
    with `original`."""
    folded, ranges, start = [], [], None
    for ch in marked:
        if ch == START:
            start = len(folded)
        elif ch == STOP:
            if start is not None and start < len(folded):
                ranges.append((start, len(folded)))
            start = None
        else:
            folded.append(ch)
    text = "".join(folded)
    if len(text) != len(original):
        return None
    if prefix:
        pattern = re.compile(r"(?<!\w)" + re.escape(prefix), re.IGNORECASE)
        for match in pattern.finditer(text):
            ranges.append((match.start(), _WORD_TAIL.match(text, match.end()).end()))
    return merge(ranges, original)


def merge(ranges: list[tuple[int, int]], text: str = "") -> list[tuple[int, int]]:
    """Sorted, overlapping ranges joined; so are the marked parts of one identifier (`snake`, `_`, `case`)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        joined = bool(text) and start == out[-1][1] + 1 and text[out[-1][1]] in _JOINERS if out else False
        if out and (start <= out[-1][1] or joined):
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def segments(text: str, ranges: list[tuple[int, int]], start: int = 0, end: int | None = None):
    """`text[start:end]` cut into (text, is a match) pieces, whitespace runs shown as one space."""
    end = len(text) if end is None else end
    pieces, at = [], start
    for r_start, r_end in ranges:
        r_start, r_end = max(r_start, start), min(r_end, end)
        if r_end <= r_start:
            continue
        if r_start > at:
            pieces.append((text[at:r_start], False))
        pieces.append((text[r_start:r_end], True))
        at = r_end
    if at < end:
        pieces.append((text[at:end], False))
    return tuple((_SPACES.sub(" ", piece), marked) for piece, marked in pieces if piece)


def passages(
    text: str, ranges: list[tuple[int, int]] | None, limit: int, more_before=False, more_after=False
) -> list[Passage]:
    """Up to `limit` passages of `text` around its highlighted ranges, the ones with most matches, in text
    order; without ranges, the start of `text`. `text` may be a window of a longer text (`more_before`,
    `more_after`): then its first and last words may be cut, and the passages say the text goes on."""
    if more_before:
        text, ranges = _from_first_word(text, ranges)
    if not ranges:
        end = _cut_after(text, min(len(text), LEAD))
        return [Passage(segments(text, [], 0, end), more_before, end < len(text) or more_after)]
    windows, i = [], 0
    while i < len(ranges):
        start = _cut_before(text, max(0, ranges[i][0] - BEFORE))
        end = _cut_after(text, min(len(text), ranges[i][0] + AFTER))
        end = max(end, ranges[i][1])
        inside = [r for r in ranges[i:] if r[0] < end]
        windows.append((len(inside), start, end, inside))
        i += len(inside)
    best = sorted(windows, key=lambda w: (-w[0], w[1]))[:limit]
    return [
        Passage(segments(text, inside, start, end), start > 0 or more_before, end < len(text) or more_after)
        for _, start, end, inside in sorted(best, key=lambda w: w[1])
    ]


def _from_first_word(text: str, ranges):
    """A window's text from its first whole word on (the window may start inside a word)."""
    space = text.find(" ", 0, 40)
    if space == -1:
        return text, ranges
    skip = space + 1
    shifted = [(max(0, a - skip), b - skip) for a, b in ranges or [] if b > skip]
    return text[skip:], shifted


def _cut_before(text: str, at: int) -> int:
    """`at` moved forward to the start of a word (unless that is far)."""
    if at == 0:
        return 0
    space = text.find(" ", at, at + 20)
    return space + 1 if space != -1 else at


def _cut_after(text: str, at: int) -> int:
    """`at` moved back to the end of a word (unless that is far)."""
    if at >= len(text):
        return len(text)
    space = text.rfind(" ", max(0, at - 20), at)
    return space if space != -1 else at
