"""Small text helpers shared by actions and the relay."""

_TITLE_CHARS = 60


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
    line = " ".join(text.split())
    return line if len(line) <= _TITLE_CHARS else line[: _TITLE_CHARS - 1].rstrip() + "…"
