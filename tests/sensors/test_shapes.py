"""Shapes of the four sensor/light models beyond tests/api/test_capture_shapes.py (which holds
every profile, these included, to every capture of its model: keys and JSON types).

Here: the documented examples (keys only: captures win on types, e.g. the Bulb's meter
``is_valid`` is the string "true" in both captures but a bool in the docs), the answers of
/light/0 and /settings/light/0, and /ir/list with codes stored (an empty list has no shape).
"""

from __future__ import annotations

import json

import pytest

from tests.datafiles import CAPTURES
from tests.datafiles import DOCS_EXAMPLES as DOCS
from tests.shapes import shape_diff

from .helpers import get_json

MODELS = ["SHBLB-1", "SHSEN-1", "SHHT-1", "SHSM-01"]
#: Docs example file stem -> resource path.
ENDPOINTS = {
    "status": "status",
    "settings": "settings",
    "light_0": "light/0",
    "settings_light_0": "settings/light/0",
}


def _docs_examples() -> list[object]:
    return [
        pytest.param(model, ENDPOINTS[file.stem.removeprefix(f"{model}_")], file, id=file.stem)
        for model in MODELS
        for file in sorted(DOCS.glob(f"{model}_*.json"))
    ]


@pytest.mark.parametrize(("model", "path", "example"), _docs_examples())
def test_documented_keys_are_present(make_device, model, path, example):
    diffs = shape_diff(json.loads(example.read_text()), get_json(make_device(model), path))
    assert [d for d in diffs if d.endswith(": missing")] == []


def test_ir_list_with_codes_has_the_captured_shape(make_device):
    """[[id, name], ...] (capture SHSEN-1 ir_list__1)."""
    host = make_device("SHSEN-1")
    for code_id in ("1_231_pwr", "1_231_mute"):
        get_json(host, "ir/add", id=code_id, name="tv(231)", pronto="AAAAbQABAAAAAQAB")
    capture = json.loads((CAPTURES / "SHSEN-1" / "ir_list__1.json").read_text())
    assert shape_diff(capture, get_json(host, "ir/list")) == []
