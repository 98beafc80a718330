from django import forms

from chat.text import clean_text


class MessageTextField(forms.CharField):
    """Text as typed, minus what PostgreSQL cannot store (NUL bytes, lone surrogates): cleaned, not refused."""

    def to_python(self, value):
        return clean_text(value) if isinstance(value, str) else super().to_python(value)


class SendForm(forms.Form):
    """One websocket 'send' frame. Unknown fields are ignored; the message text is checked by the action."""

    message = MessageTextField(required=False, strip=False)
    client_id = forms.UUIDField()
    credential = forms.IntegerField(required=False, min_value=1)
    model = MessageTextField(required=False, max_length=200)


class ReplyActionForm(forms.Form):
    """A websocket frame about one message: stop, retry, edit, continue, or show this version."""

    message_id = forms.IntegerField(min_value=1)


class ImportForm(forms.Form):
    """Settings → Import & export: the file to import (what it holds is checked by chat.imports)."""

    file = forms.FileField(
        error_messages={"required": "Choose a file to import.", "empty": "The file is empty."},
        allow_empty_file=False,
    )
