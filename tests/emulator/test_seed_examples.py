"""The documentation's own examples, replayed: the emulator answers the seeds' requests
with responses of the seeds' shape (every documented key, with its JSON type)."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Api, codes_of

FIXTURES = Path(__file__).parent.parent / "fixtures" / "capillary"
CASES: list[dict[str, Any]] = json.loads((FIXTURES / "emulator_seed_cases.json").read_text())[
    "cases"
]


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def set_path(document: Any, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        document = document[int(key)] if isinstance(document, list) else document[key]
    if isinstance(document, list):
        index = int(last)
        if index == len(document):
            document.append(value)
        else:
            document[index] = value
    else:
        document[last] = value


def fill(value: Any, customer_id: int | None) -> Any:
    if isinstance(value, str) and customer_id is not None:
        return value.replace("{id}", str(customer_id))
    if isinstance(value, dict):
        return {k: fill(v, customer_id) for k, v in value.items()}
    return value


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_same_shape(documented: Any, ours: Any, path: str, may_be_empty: set[str]) -> None:
    if documented is None:
        return  # the example shows no value, so any type is possible
    assert kind(ours) == kind(documented), (
        f"{path}: {kind(ours)} where the documentation has {kind(documented)}"
    )
    if isinstance(documented, dict):
        for key, value in documented.items():
            assert key in ours, f"{path}.{key} is missing"
            assert_same_shape(value, ours[key], f"{path}.{key}", may_be_empty)
    elif isinstance(documented, list) and documented:
        name = path.rsplit(".", 1)[-1]
        if not ours:
            assert name in may_be_empty, f"{path} is empty where the documentation has items"
            return
        for index, item in enumerate(documented):
            assert_same_shape(item, twin_of(item, ours), f"{path}[{index}]", may_be_empty)


def twin_of(item: Any, ours: list[Any]) -> Any:
    """The item of ours to compare with: same ``type`` when there is one (side effects),
    then the most keys in common."""
    if not isinstance(item, dict):
        return ours[0]
    same_type = [o for o in ours if isinstance(o, dict) and o.get("type") == item.get("type")]
    candidates = same_type or ours
    return max(candidates, key=lambda o: len(set(o) & set(item)) if isinstance(o, dict) else -1)


def send(api: Api, case: dict[str, Any], customer_id: int | None) -> Any:
    body = case.get("body") if "request" not in case else load(case["request"])
    for dotted, value in case.get("set", {}).items():
        set_path(body, dotted, fill(value, customer_id))
    return api.http.request(
        case["method"],
        fill(case["path"], customer_id),
        params=fill(case.get("params", {}), customer_id),
        json=body,
        headers=case.get("headers", {}),
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_it_answers_the_documented_example(
    make_api: Callable[..., Api], case: dict[str, Any]
) -> None:
    api = make_api(case.get("org"))
    customer_id = None
    for step in case.get("setup", []):
        created = send(api, step, customer_id).json()["createdId"]
        customer_id = customer_id or created
    response = send(api, case, customer_id)
    assert response.status_code == case.get("expect_status", 200), response.text
    ours = response.json()
    for key in filter(None, case.get("response_item", "").split(".")):
        ours = ours[int(key)] if isinstance(ours, list) else ours[key]
    assert_same_shape(load(case["response"]), ours, "response", set(case.get("may_be_empty", [])))
    if case.get("expect_no_warnings"):
        assert ours["warnings"] == []
    if "expect_warnings" in case:
        assert codes_of(response, "warnings") == case["expect_warnings"]
