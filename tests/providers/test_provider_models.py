"""Listing models: each dialect's list, NovaKit's tiers, and the errors on the way."""

from __future__ import annotations

import pytest

from providers import Endpoint, ModelInfo, ProviderError, list_models
from providers.models import parse_models

from .helpers import KEY, endpoint


@pytest.mark.asyncio
async def test_novakit_lists_200_plus_models_with_tiers(fp):
    models = await list_models(endpoint(fp, "novakit"), KEY)
    assert len(models) >= 200 and len({m.id for m in models}) == len(models)
    assert {m.tier for m in models} == {"basic", "standard", "powerful"}
    assert (
        ModelInfo("openai/gpt-4o-mini", "basic", vision=True) in models
        and ModelInfo("anthropic/claude-3-opus", "powerful", vision=True) in models
        and ModelInfo("meta-llama/llama-3.1-8b", "basic", vision=False) in models
    )
    assert fp.requests[0]["method"] == "GET" and fp.requests[0]["path"] == "/novakit/api/v1/models"


@pytest.mark.asyncio
@pytest.mark.parametrize(("preset", "dialect", "expected"), [
    ("novisurf", "novisurf", "llama-3.3-70b-versatile"),
    ("novita", "novita", "deepseek/deepseek-r1"),
    ("novita", "novita-openai", "deepseek/deepseek-r1"),
    ("openai", "openai", "gpt-4o-mini"),
])  # fmt: skip
async def test_plain_model_lists(fp, preset, dialect, expected):
    models = await list_models(endpoint(fp, preset, dialect=dialect), KEY)
    assert expected in [m.id for m in models] and {m.tier for m in models} == {None}


@pytest.mark.asyncio
async def test_model_list_errors(fp):
    with pytest.raises(ProviderError) as info:
        await list_models(endpoint(fp, "novakit"), "sk_invalid_key_0000")
    assert info.value.kind == "auth" and "sk_invalid_key_0000" not in repr(info.value) + info.value.detail
    with pytest.raises(ProviderError) as info:
        await list_models(Endpoint("openai", fp.url + "/nowhere/v1"), KEY)
    assert info.value.kind == "upstream" and "check the base URL" in info.value.message


def test_parse_models_shapes():
    assert parse_models({"data": [{"id": "a", "tier": " Basic "}, {"id": "a"}, {"name": "b"}, 3, {"id": ""}]}) == [
        ModelInfo("a", "basic"), ModelInfo("b", None)]  # fmt: skip
    assert parse_models({"models": ["x", "y"]}) == [ModelInfo("x"), ModelInfo("y")]
    assert parse_models([{"id": "z", "model_tier": "powerful"}]) == [ModelInfo("z", "powerful")]
    with pytest.raises(ValueError):
        parse_models({"object": "list"})
