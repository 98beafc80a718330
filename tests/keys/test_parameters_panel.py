import pytest

from keys.parameters_panel import param_rows, params_from_form
from providers.presets import PRESETS


def test_the_panel_shows_numbers_as_typed_whole_floats_without_a_fraction():
    rows = {row.spec.name: row.value for row in param_rows(PRESETS["novisurf"], {"temperature": 2.0})}
    assert rows["temperature"] == 2 and str(rows["temperature"]) == "2"
    rows = {row.spec.name: row.value for row in param_rows(PRESETS["novisurf"], {"temperature": 0.35})}
    assert str(rows["temperature"]) == "0.35"
    rows = {row.spec.name: row.value for row in param_rows(PRESETS["novisurf"], {"stop": ["a", "b"]})}
    assert rows["stop"] == "a\nb" and rows["max_tokens"] == ""


@pytest.mark.parametrize(
    ("typed", "note"),
    [
        ({"p_temperature": "7"}, "Set to 2, the most it takes."),
        ({"p_temperature": "-1"}, "Set to 0, the least it takes."),
        ({"p_max_tokens": "12.7"}, "Set to 13."),
        ({"p_max_tokens": "lots"}, "“lots” is not a number here: left to the provider's default."),
        ({"p_temperature": "0.5"}, ""),
        ({"p_temperature": ""}, ""),
        ({"p_stop": "END"}, ""),
    ],
)
def test_a_number_stored_otherwise_than_typed_says_so(typed, note):
    preset = PRESETS["novisurf"]
    rows = param_rows(preset, params_from_form(preset, typed), typed)
    assert [row.note for row in rows if row.note] == ([note] if note else [])
