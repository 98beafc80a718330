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


def _model(item: Any) -> ModelInfo | None:
    if isinstance(item, str):
        model_id, tier = item, None
    elif isinstance(item, dict):
        model_id = item.get("id") or item.get("model") or item.get("name")
        tier = item.get("tier") or item.get("model_tier")
    else:
        return None
    if not isinstance(model_id, str) or not model_id.strip() or len(model_id) > 200:
        return None
    return ModelInfo(
        model_id.strip(), tier.strip().lower() if isinstance(tier, str) and tier.strip() else None
    )
