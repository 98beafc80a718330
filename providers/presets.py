"""One preset per provider, as data: where it lives, how it authenticates, what it accepts, how it fails.

The values come from the providers' own pages (see /work/shared/seeds): where a provider's page and the OpenAI
reference disagree, the provider's page wins for that provider.
"""

from __future__ import annotations

from dataclasses import dataclass

from providers.params import ParamSpec, clean_params

__all__ = ["PRESETS", "ParamSpec", "Preset", "clean_params", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """A provider's fixed facts.

    `base_urls` are the documented bases, first is the default; empty means the user supplies one.
    `auth_styles`: "bearer" (Authorization: Bearer), "x-api-key" (X-API-Key), "header" (a header name the
    user supplies). Exactly one auth header is ever sent, in the style the credential was saved with.
    `message_fields`: per-message fields passed through besides role and content.
    `stream_usage_option`: whether `stream_options.include_usage` may be sent; only where the provider is
    known to accept it, because an unknown field can turn a working request into a 400.
    """

    slug: str
    name: str
    base_urls: tuple[str, ...]
    auth_styles: tuple[str, ...]
    error_dialect: str
    params: tuple[ParamSpec, ...]
    default_model: str | None = None
    model_optional: bool = False
    supports_text_completions: bool = False
    message_fields: tuple[str, ...] = ()
    stream_usage_option: bool = False
    # Whether the request carries `user` (NovaKit): filled by the server, never by the person.
    sends_user: bool = False

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.params)


_TEMPERATURE = ParamSpec("temperature", "float", 0.0, 2.0)
_TOP_P = ParamSpec("top_p", "float", 0.0, 1.0)
_MAX_TOKENS = ParamSpec("max_tokens", "int", 1, None)
_STOP = ParamSpec("stop", "stop")
_FREQUENCY = ParamSpec("frequency_penalty", "float", -2.0, 2.0)
_PRESENCE = ParamSpec("presence_penalty", "float", -2.0, 2.0)

PRESETS: dict[str, Preset] = {
    "novisurf": Preset(
        slug="novisurf",
        name="Novisurf",
        base_urls=("https://api2.novisurf.top/v1",),
        auth_styles=("bearer", "x-api-key"),
        error_dialect="openai",
        params=(_TEMPERATURE, _MAX_TOKENS, _TOP_P, _STOP),
    ),
    "novakit": Preset(
        slug="novakit",
        name="NovaKit",
        base_urls=("https://www.novakit.ai/api/v1",),
        auth_styles=("bearer",),
        error_dialect="novakit",
        params=(
            _TEMPERATURE,
            _MAX_TOKENS,
            _TOP_P,
            _STOP,
            _FREQUENCY,
            _PRESENCE,
            ParamSpec("web_search", "bool"),
        ),
        default_model="openai/gpt-4o-mini",
        model_optional=True,
        message_fields=("name", "images"),
        sends_user=True,
    ),
    "novita": Preset(
        slug="novita",
        name="Novita AI",
        base_urls=("https://api.novita.ai/v3/openai", "https://api.novita.ai/openai"),
        auth_styles=("bearer",),
        error_dialect="novita",
        params=(
            _TEMPERATURE,
            _TOP_P,
            _MAX_TOKENS,
            _STOP,
            ParamSpec("top_k", "int", -1, None),  # -1 means "all tokens" per the docs
            ParamSpec("min_p", "float", 0.0, 1.0),
            # Undocumented range: it must be > 0 (a multiplier), and values past 2 only produce gibberish.
            ParamSpec("repetition_penalty", "float", 0.01, 2.0),
            _PRESENCE,
            _FREQUENCY,
            # Each choice is billed; more than a handful is never what a chat user wants.
            ParamSpec("n", "int", 1, 8),
            ParamSpec("logit_bias", "bias", -100, 100),
        ),
        supports_text_completions=True,
        message_fields=("name",),
    ),
    "openai": Preset(
        slug="openai",
        name="OpenAI-compatible",
        base_urls=(),
        auth_styles=("bearer", "header"),
        error_dialect="openai",
        params=(_TEMPERATURE, _TOP_P, _MAX_TOKENS, _STOP, _PRESENCE, _FREQUENCY),
        message_fields=("name",),
        stream_usage_option=True,
    ),
}


def get_preset(slug: str) -> Preset:
    """The preset for `slug`; KeyError names the slug when it is unknown."""
    try:
        return PRESETS[slug]
    except KeyError:
        raise KeyError(f"unknown provider preset {slug!r}") from None
