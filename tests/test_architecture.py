"""The layout's rules, checked on the code itself (docs/architecture.md explains them).

- The Capillary client and the emulator never load each other, nor Django.
- No two modules of the app import each other, directly or round a loop.
- Dependencies point one way: views -> forms and services -> the client and the
  history's write side -> models; views never call the client.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "customers"


def _modules() -> dict[str, Path]:
    found = {}
    for path in APP.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path) -> set[str]:
    """Modules of the app that `name` imports at run time (type-only imports left out)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    candidate = f"{base}.{alias.name}"
                    found.add(candidate if candidate in MODULES else base)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _loaded_by(statement: str) -> set[str]:
    check = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=ROOT,
    )
    return set(result.stdout.split())


def test_importing_the_emulator_never_loads_the_client_or_django():
    loaded = _loaded_by(
        "import customers.capillary_emulator, customers.capillary_emulator.server, "
        "customers.capillary_emulator.seed, customers.capillary_emulator.transport"
    )

    assert not {
        m for m in loaded if m == "customers.capillary" or m.startswith("customers.capillary.")
    }
    assert not {m for m in loaded if m == "django" or m.startswith("django.")}


def test_importing_the_client_never_loads_the_emulator_or_django():
    loaded = _loaded_by("import customers.capillary, customers.capillary.client")

    assert "customers.capillary.client" in loaded
    assert not {m for m in loaded if m.startswith("customers.capillary_emulator")}
    assert not {m for m in loaded if m == "django" or m.startswith("django.")}


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(GRAPH):
        if start not in state and (found := walk(start)):
            return found
    return None


def test_no_two_modules_import_each_other_even_round_a_loop():
    assert _cycle() is None


def test_the_cycle_check_would_see_a_loop(monkeypatch):
    monkeypatch.setitem(
        GRAPH, "customers.gateway", {*GRAPH["customers.gateway"], "customers.models"}
    )
    monkeypatch.setitem(
        GRAPH, "customers.models", {*GRAPH["customers.models"], "customers.gateway"}
    )

    assert _cycle() is not None


def _importers_of(prefix: str) -> set[str]:
    return {
        name
        for name, imported in GRAPH.items()
        if any(m == prefix or m.startswith(prefix + ".") for m in imported)
    }


def test_no_view_calls_the_capillary_client():
    views = {name for name in MODULES if name.endswith(".views")}
    assert views >= {
        "customers.members.views",
        "customers.imports.views",
        "customers.history.views",
        "customers.console.views",
    }
    for name in views:
        source = MODULES[name].read_text()
        assert "get_client" not in source, name
        assert not GRAPH[name] & {
            "customers.capillary.client",
            "customers.capillary.transport",
            "customers.capillary.auth",
        }, name


def test_the_client_and_the_emulator_import_nothing_else_of_the_app():
    for name, imported in GRAPH.items():
        if name.startswith("customers.capillary_emulator"):
            assert all(m.startswith("customers.capillary_emulator") for m in imported), name
        elif name == "customers.capillary" or name.startswith("customers.capillary."):
            assert all(m.startswith("customers.capillary") for m in imported), name


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("customers.models", ".views"),
        ("customers.models", ".forms"),
        ("customers.models", ".services"),
        ("customers.history.audit", ".views"),
        ("customers.history.chain", ".views"),
        ("customers.members.services", ".views"),
        ("customers.members.services", ".forms"),
        ("customers.imports.jobs", ".views"),
        ("customers.imports.tasks", ".views"),
        ("customers.gateway", ".views"),
        ("customers.gateway", ".services"),
    ],
)
def test_dependencies_point_one_way(lower, upper):
    assert not {m for m in GRAPH[lower] if m.endswith(upper)}


def test_the_history_never_reaches_up_into_the_screens_that_write_it():
    for name, imported in GRAPH.items():
        if name.startswith("customers.history"):
            assert not {
                m for m in imported if m.startswith(("customers.members", "customers.imports"))
            }, name
