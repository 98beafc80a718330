from django import forms


class SendForm(forms.Form):
    """One websocket 'send' frame. Unknown fields are ignored; the message text is checked by the action."""

    message = forms.CharField(required=False, strip=False)
    client_id = forms.UUIDField()
    credential = forms.IntegerField(required=False, min_value=1)
    model = forms.CharField(required=False, max_length=200)


class StopForm(forms.Form):
    message_id = forms.IntegerField(min_value=1)
