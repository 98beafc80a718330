"""Reading a provider's model list (`GET {base}/models`) into ModelInfo, whatever list shape it uses."""

from __future__ import annotations

from typing import Any

from providers.types import ModelInfo

MODEL_LIMIT = 5000  # far above any real catalogue (NovaKit lists 200+); bounds memory and the picker


def parse_models(payload: Any) -> list[ModelInfo]:
    """Models from OpenAI's `{"data": [...]}`, a `{"models": [...]}` wrapper, or a bare list; items may be
    objects with `id` (and NovaKit's `tier`) or plain strings. Order kept, duplicates and junk dropped.

    Raises ValueError when the payload is no model list at all.
    """
    items = payload.get("data", payload.get("models")) if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise ValueError("not a model list")
    models: list[ModelInfo] = []
    seen: set[str] = set()
    for item in items:
        info = _model(item)
        if info is not None and info.id not in seen:
            seen.add(info.id)
            models.append(info)
            if len(models) >= MODEL_LIMIT:
                break
    return models


# Families documented as accepting images (NovaKit's page names gpt-4o, claude-3.5-sonnet and gemini-1.5-pro),
# for listings that do not say which inputs a model takes.
_VISION_HINTS = (
    "gpt-4o",
    "gpt-4-turbo",
    "gpt-4.1",
    "claude-3",
    "gemini",
    "vision",
    "-vl",
    "llava",
    "pixtral",
)


def is_vision_model(model_id: str) -> bool:
    """Whether `model_id` belongs to a family known to accept images."""
    lowered = model_id.lower()
    return any(hint in lowered for hint in _VISION_HINTS)


def _listed_vision(item: dict) -> bool | None:
    """What a listing says about image input: OpenRouter's `architecture.input_modalities`, a top-level
    `input_modalities`/`modalities`, or a `capabilities` list or dict naming vision; None when it is silent."""
    architecture = item.get("architecture")
    for source in (architecture if isinstance(architecture, dict) else {}, item):
        for key in ("input_modalities", "modalities"):
            value = source.get(key)
            if isinstance(value, list):
                return "image" in value
    capabilities = item.get("capabilities")
    if isinstance(capabilities, list):
        return "vision" in capabilities
    if isinstance(capabilities, dict) and "vision" in capabilities:
        return bool(capabilities["vision"])
    return None


def _model(item: Any) -> ModelInfo | None:
    listed_vision = None
    if isinstance(item, str):
        model_id, tier = item, None
    elif isinstance(item, dict):
        model_id = item.get("id") or item.get("model") or item.get("name")
        tier = item.get("tier") or item.get("model_tier")
        listed_vision = _listed_vision(item)
    else:
        return None
    if not isinstance(model_id, str) or not model_id.strip() or len(model_id) > 200:
        return None
    model_id = model_id.strip()
    return ModelInfo(
        model_id,
        tier.strip().lower() if isinstance(tier, str) and tier.strip() else None,
        is_vision_model(model_id) if listed_vision is None else listed_vision,
    )
