"""Presets as data, parameter cleaning, endpoint validation and request bodies (no network)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers import PRESETS, ChatRequest, Endpoint, ProviderError, TextRequest, clean_params, get_preset
from providers.bodies import chat_body, clean_messages, text_body
from providers.models import parse_models
from providers.presets import clean_params as clean_params_from_presets

ROOT = Path(__file__).resolve().parents[2]


def test_presets_in_order_with_documented_facts():
    assert list(PRESETS) == ["novisurf", "novakit", "novita", "openai"]
    novisurf, novakit, novita, openai = PRESETS.values()
    assert (novisurf.name, novisurf.base_urls, novisurf.auth_styles, novisurf.error_dialect) == (
        "Novisurf",
        ("https://api2.novisurf.top/v1",),
        ("bearer", "x-api-key"),
        "openai",
    )
    assert (novakit.name, novakit.base_urls, novakit.auth_styles, novakit.error_dialect) == (
        "NovaKit",
        ("https://www.novakit.ai/api/v1",),
        ("bearer",),
        "novakit",
    )
    assert novakit.model_optional and novakit.default_model == "openai/gpt-4o-mini"
    assert (
        novita.name == "Novita AI" and novita.error_dialect == "novita" and novita.supports_text_completions
    )
    assert novita.base_urls == ("https://api.novita.ai/v3/openai", "https://api.novita.ai/openai")
    assert (
        openai.base_urls == ()
        and openai.auth_styles == ("bearer", "header")
        and openai.error_dialect == "openai"
    )
    assert clean_params_from_presets is clean_params
    with pytest.raises(KeyError, match="nope"):
        get_preset("nope")


def test_presets_list_their_documented_parameters():
    names = {slug: set(preset.param_names) for slug, preset in PRESETS.items()}
    assert names["novisurf"] == {"temperature", "max_tokens", "top_p", "stop"}
    assert names["novakit"] == names["novisurf"] | {
        "frequency_penalty",
        "presence_penalty",
        "web_search",
    }
    assert names["novita"] == {"temperature", "top_p", "max_tokens", "stop", "top_k", "min_p",
                               "repetition_penalty", "presence_penalty", "frequency_penalty", "n", "logit_bias"}  # fmt: skip
    assert names["openai"] == {
        "temperature",
        "top_p",
        "max_tokens",
        "stop",
        "presence_penalty",
        "frequency_penalty",
    }


@pytest.mark.parametrize(
    ("slug", "raw", "expected"),
    [
        ("novisurf", {"temperature": 5, "top_p": -1, "max_tokens": 0}, {"temperature": 2.0, "top_p": 0.0, "max_tokens": 1}),
        ("novisurf", {"temperature": "0.7", "max_tokens": "100", "junk": 1}, {"temperature": 0.7, "max_tokens": 100}),
        ("novisurf", {"max_tokens": 3.6, "frequency_penalty": 1}, {"max_tokens": 4}),
        ("novisurf", {"temperature": True, "top_p": "abc", "max_tokens": float("nan")}, {}),
        ("novisurf", {"temperature": float("inf"), "top_p": None, "stop": 3}, {}),
        ("novisurf", {"stop": "\n"}, {"stop": "\n"}),
        ("novisurf", {"stop": ["a", 1, "", "b", "c", "d", "e"]}, {"stop": ["a", "b", "c", "d"]}),
        ("novisurf", {"stop": []}, {}),
        ("novakit", {"frequency_penalty": -9, "presence_penalty": "1.5", "web_search": "true"},
         {"frequency_penalty": -2.0, "presence_penalty": 1.5, "web_search": True}),
        # `user` is the server's to fill, never a parameter a person sets.
        ("novakit", {"web_search": "maybe", "user": "u-42"}, {}),
        ("novakit", {"web_search": 0}, {"web_search": False}),
        ("novita", {"n": 20, "top_k": -5, "min_p": 3, "repetition_penalty": 0}, {"n": 8, "top_k": -1, "min_p": 1.0, "repetition_penalty": 0.01}),
        ("openai", {"presence_penalty": 2.5, "web_search": True, "top_k": 3}, {"presence_penalty": 2.0}),
        ("novita", {"logit_bias": "50256: -150\nabc: 3\n12:0.5\n-4: 1\n7: nan"}, {"logit_bias": {"50256": -100, "12": 0.5}}),
        ("novita", {"logit_bias": {"0042": 5, "x": 1}}, {"logit_bias": {"42": 5}}),
        ("novita", {"logit_bias": "no pairs here"}, {}),
        ("novisurf", {"logit_bias": {"1": 1}}, {}),
    ],
)  # fmt: skip
def test_clean_params_drops_coerces_and_clamps(slug, raw, expected):
    assert clean_params(PRESETS[slug], raw) == expected


def test_clean_params_tolerates_non_dicts():
    for raw in (None, [], "temperature=1", 3, object()):
        assert clean_params(PRESETS["novisurf"], raw) == {}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=60),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    slug=st.sampled_from(list(PRESETS)),
    raw=st.dictionaries(
        st.sampled_from(
            [spec.name for p in PRESETS.values() for spec in p.params] + ["model", "junk", "stream"]
        ),
        json_values,
        max_size=12,
    ),
)
def test_clean_params_never_raises_and_respects_ranges(slug, raw):
    preset = PRESETS[slug]
    cleaned = clean_params(preset, raw)
    specs = {spec.name: spec for spec in preset.params}
    assert set(cleaned) <= set(specs)
    for name, value in cleaned.items():
        spec = specs[name]
        if spec.kind in ("float", "int"):
            assert isinstance(value, float if spec.kind == "float" else int) and not isinstance(value, bool)
            assert math.isfinite(value)
            assert spec.min is None or value >= spec.min
            assert spec.max is None or value <= spec.max
        elif spec.kind == "bool":
            assert isinstance(value, bool)
        elif spec.kind == "stop":
            assert isinstance(value, str) or (isinstance(value, list) and 1 <= len(value) <= 4)


def test_endpoint_validation():
    Endpoint("novisurf", "https://api2.novisurf.top/v1", "x-api-key")
    assert Endpoint("openai", "http://h/v1", "header", " X-Custom-Key ").auth_header == "X-Custom-Key"
    bad = [
        ("nope", "https://h/v1", "bearer", ""),
        ("novakit", "https://h/v1", "x-api-key", ""),  # NovaKit is Bearer only
        ("novisurf", "ftp://h/v1", "bearer", ""),
        ("novisurf", "/v1", "bearer", ""),
        ("novisurf", "https://user:pw@h/v1", "bearer", ""),
        ("openai", "https://h/v1", "header", ""),
        ("openai", "https://h/v1", "header", "Bad Header"),
        ("openai", "https://h/v1", "header", "Content-Length"),
        ("openai", "https://h/v1", "header", "X-Key\r\nInjected: 1"),
    ]
    for args in bad:
        with pytest.raises(ValueError):
            Endpoint(*args)
    assert Endpoint("novita", "https://api.novita.ai/openai/").url("/chat/completions") == (
        "https://api.novita.ai/openai/chat/completions"
    )


def test_messages_keep_only_documented_fields():
    messages = [
        {"role": "system", "content": "be brief", "name": "sys", "junk": 1},
        {"role": "user", "content": "look", "images": ["u1", "u2", 3, "u3", "u4", "u5"], "name": "ann"},
        {"role": "tool", "content": None},
        "not a message",
        {"content": "no role"},
    ]
    assert clean_messages(PRESETS["novakit"], messages) == [
        {"role": "system", "content": "be brief", "name": "sys"},
        {"role": "user", "content": "look", "images": ["u1", "u2", "u3", "u4"], "name": "ann"},
        {"role": "tool", "content": ""},
    ]
    assert clean_messages(PRESETS["novisurf"], messages)[1] == {"role": "user", "content": "look"}
    assert clean_messages(PRESETS["novita"], messages)[1] == {
        "role": "user",
        "content": "look",
        "name": "ann",
    }


def test_bodies():
    novakit = chat_body(
        PRESETS["novakit"], ChatRequest("", [{"role": "user", "content": "x"}], {"web_search": 1})
    )
    assert novakit == {"messages": [{"role": "user", "content": "x"}], "stream": True, "web_search": True}
    openai = chat_body(PRESETS["openai"], ChatRequest(" gpt ", [], {"temperature": 1}))
    assert openai == {"model": "gpt", "messages": [], "stream": True,
                      "stream_options": {"include_usage": True}, "temperature": 1.0}  # fmt: skip
    with pytest.raises(ProviderError) as info:
        chat_body(PRESETS["novisurf"], ChatRequest("", [], {}))
    assert info.value.kind == "bad_request" and info.value.message.startswith("Novisurf: no model")
    text = text_body(PRESETS["novita"], TextRequest("m", "Once upon", {"n": 2, "junk": 1}))
    assert text == {"model": "m", "prompt": "Once upon", "stream": True, "n": 2}
    with pytest.raises(ProviderError, match="text completions"):
        text_body(PRESETS["novakit"], TextRequest("m", "p"))


def test_providers_package_never_imports_django():
    code = "import sys, providers, providers.client; print(any(m.split('.')[0] == 'django' for m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == "False"
    for path in (ROOT / "providers").glob("*.py"):
        assert not re.search(r"^\s*(from|import)\s+django", path.read_text(), re.MULTILINE), path


def test_only_novakit_sends_the_user_id():
    request = ChatRequest("m", [{"role": "user", "content": "x"}], {"user": "forged"}, user="u-1f3a")
    assert chat_body(PRESETS["novakit"], request)["user"] == "u-1f3a"
    for slug in ("novisurf", "novita", "openai"):
        assert "user" not in chat_body(PRESETS[slug], request)


@pytest.mark.parametrize(
    ("item", "vision"),
    [
        ({"id": "openai/gpt-4o"}, True),
        ({"id": "openai/gpt-4o-mini", "architecture": {"input_modalities": ["text"]}}, False),
        ({"id": "acme/eye", "architecture": {"input_modalities": ["text", "image"]}}, True),
        ({"id": "acme/eye", "capabilities": ["vision"]}, True),
        ({"id": "acme/eye", "capabilities": {"vision": False}}, False),
        ("qwen/qwen2.5-vl-72b-instruct", True),
        ("meta-llama/llama-3.1-8b", False),
    ],
)
def test_model_listings_say_which_models_take_images(item, vision):
    assert parse_models([item])[0].vision is vision
