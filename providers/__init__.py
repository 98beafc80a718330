"""The one outbound HTTP doorway to LLM providers. Plain Python: no Django import anywhere in this package.

The rest of NovaWeb sees only the names below: presets as data, request and event types, one ProviderError,
and three calls.
"""

from providers.client import complete_text, list_models, stream_chat
from providers.errors import KINDS, ProviderError
from providers.http import DEFAULT_TIMEOUTS, Timeouts, aclose_shared_client
from providers.params import ParamSpec, clean_params
from providers.presets import PRESETS, Preset, get_preset
from providers.retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy
from providers.types import (
    ChatRequest,
    Endpoint,
    ModelInfo,
    Retrying,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextRequest,
    Usage,
)

__all__ = [
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUTS",
    "KINDS",
    "NO_RETRY",
    "PRESETS",
    "ChatRequest",
    "Endpoint",
    "ModelInfo",
    "ParamSpec",
    "Preset",
    "ProviderError",
    "RetryPolicy",
    "Retrying",
    "StreamEnd",
    "StreamEvent",
    "TextDelta",
    "TextRequest",
    "Timeouts",
    "Usage",
    "aclose_shared_client",
    "clean_params",
    "complete_text",
    "get_preset",
    "list_models",
    "stream_chat",
]
