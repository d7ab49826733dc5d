"""requirements.lock pins every dependency pyproject.toml names (make lock writes it)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_dependency_is_pinned_in_the_lock_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = {name(r) for r in project["project"]["dependencies"]}
    wanted |= {name(r) for r in project["dependency-groups"]["dev"]}
    pinned = {
        line.split("==")[0].strip().lower().replace("_", "-")
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert wanted - pinned == set(), "pyproject.toml changed: run `make lock` and commit the lock"
