from keys.parameters_panel import param_rows
from providers.presets import PRESETS


def test_the_panel_shows_numbers_as_typed_whole_floats_without_a_fraction():
    rows = {row.spec.name: row.value for row in param_rows(PRESETS["novisurf"], {"temperature": 2.0})}
    assert rows["temperature"] == 2 and str(rows["temperature"]) == "2"
    rows = {row.spec.name: row.value for row in param_rows(PRESETS["novisurf"], {"temperature": 0.35})}
    assert str(rows["temperature"]) == "0.35"
    rows = {row.spec.name: row.value for row in param_rows(PRESETS["novisurf"], {"stop": ["a", "b"]})}
    assert rows["stop"] == "a\nb" and rows["max_tokens"] == ""
