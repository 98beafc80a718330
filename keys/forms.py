from django import forms

from keys.models import MAX_INSTRUCTIONS_CHARS, PRESET_CHOICES, Credential
from providers import egress
from providers.presets import PRESETS
from providers.types import Endpoint

MAX_SECRET_CHARS = 1000


class CredentialForm(forms.Form):
    """Add a personal key. The secret is write-only: the widget never renders a value back."""

    provider = forms.ChoiceField(label="Provider", choices=PRESET_CHOICES)
    label = forms.CharField(label="Label", max_length=80)
    base_url = forms.URLField(
        label="Base URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Leave empty to use the provider's default.",
    )
    auth_style = forms.ChoiceField(
        label="Auth header", choices=Credential.AuthStyle.choices, initial=Credential.AuthStyle.BEARER
    )
    auth_header = forms.CharField(label="Header name", required=False, max_length=64)
    api_key = forms.CharField(
        label="API key",
        max_length=MAX_SECRET_CHARS,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, owner=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner

    def clean_label(self):
        label = self.cleaned_data["label"].strip()
        if self.owner and Credential.objects.filter(owner=self.owner, label=label).exists():
            raise forms.ValidationError("You already have a key with this label.")
        return label

    def clean_api_key(self):
        secret = self.cleaned_data["api_key"]
        if any(ch.isspace() or not ch.isprintable() for ch in secret):
            raise forms.ValidationError("An API key has no spaces or invisible characters — paste it again.")
        if len(secret) < 8:
            raise forms.ValidationError("That is too short to be an API key.")
        return secret

    def clean(self):
        data = super().clean()
        preset = PRESETS.get(data.get("provider", ""))
        if preset is None:
            return data
        base_url = (data.get("base_url") or "").rstrip("/")
        if not base_url:
            if not preset.base_urls:
                self.add_error("base_url", "This provider needs a base URL, e.g. https://host/v1.")
            else:
                base_url = preset.base_urls[0]
        # An early, clear refusal of what the policy forbids outright (plain http, a literal non-public
        # address, localhost); no DNS here: names are judged when the connection is made.
        refusal = base_url and egress.url_refusal(base_url, egress.current_policy())
        if refusal:
            self.add_error("base_url", refusal)
        data["base_url"] = base_url
        style = data.get("auth_style")
        if style and style not in preset.auth_styles:
            style = preset.auth_styles[0]
        data["auth_style"] = style
        if style == Credential.AuthStyle.HEADER and not data.get("auth_header"):
            self.add_error("auth_header", "Name the header that carries the key, e.g. X-Api-Token.")
        if style != Credential.AuthStyle.HEADER:
            data["auth_header"] = ""
        if base_url and not self.errors:
            try:  # the provider layer's own rules for an endpoint, so there is one definition of "valid"
                Endpoint(
                    preset=preset.slug,
                    base_url=base_url,
                    auth_style=style,
                    auth_header=data.get("auth_header", ""),
                )
            except ValueError as exc:
                self.add_error(
                    "auth_header" if style == Credential.AuthStyle.HEADER else "base_url",
                    str(exc).capitalize() + ".",
                )
        return data

    def endpoint_fields(self) -> dict:
        """The cleaned address and secret, as the add and replace actions take them (valid forms only)."""
        data = self.cleaned_data
        return {
            "base_url": data["base_url"],
            "auth_style": data["auth_style"],
            "auth_header": data["auth_header"],
            "secret": data["api_key"],
        }


class RenameCredentialForm(forms.Form):
    label = forms.CharField(label="Label", max_length=80)


class ReplaceSecretForm(CredentialForm):
    """A new secret for an existing key, with its address and auth header: the same rules as adding one.

    The base URL can only change together with the secret, so a key is never sent to a host it was not
    entered for.
    """

    def __init__(self, *args, credential, **kwargs):
        super().__init__(*args, owner=None, **kwargs)
        self.credential = credential
        del self.fields["provider"]
        del self.fields["label"]
        self.fields["api_key"].label = "New API key"
        for name in ("base_url", "auth_style", "auth_header"):
            self.fields[name].initial = getattr(credential, name)
        # Each row's form needs its own ids, or the labels on the page would point at the first row's fields.
        self.auto_id = f"id_secret_{credential.pk}_%s"

    def clean(self):
        self.cleaned_data["provider"] = self.credential.preset
        return super().clean()


class ChatDefaultsForm(forms.Form):
    credential = forms.TypedChoiceField(label="Key", coerce=int, required=False, empty_value=None)
    model = forms.CharField(label="Model", max_length=200, required=False)
    instructions = forms.CharField(label="Instructions", max_length=MAX_INSTRUCTIONS_CHARS, required=False)

    def __init__(self, *args, credentials=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credential"].choices = [("", "No default")] + [
            (c.pk, f"{c.label} · {c.preset_name}") for c in credentials
        ]
