"""A new chat is named after its first message: the first line with words, as a reader sees it."""

import pytest

from chat.text import title_from


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("Hello there", "Hello there"),
        ("# Plan for **Monday**\nThe rest of the plan", "Plan for Monday"),
        ("Meeting notes 11/20\nNotes about the meeting", "Meeting notes 11/20"),
        ("\n\n  > quoted *thing*", "quoted thing"),
        ("1. step one\n2. step two", "step one"),
        ("---\nThe real first line", "The real first line"),
        ("```python\nprint('hi')\n```", "print('hi')"),
        ("See [the docs](https://example.com/d) on `os.path.join`", "See the docs on os.path.join"),
        ("Rename snake_case_name", "Rename snake_case_name"),
        ("![a cat](https://example.com/cat.png) what breed?", "a cat what breed?"),
        ("**", "**"),  # nothing but marks: the message as written
        ("word " * 30, "word word word word word word word word word word word word…"),
    ],
)
def test_a_title_is_the_first_line_with_words_without_markdown(message, title):
    assert title_from(message) == title
    assert len(title_from(message)) <= 60
