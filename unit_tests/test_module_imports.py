"""The shape of source_timify/: no import cycle among its modules (a local import included), and
no module over 450 lines (issue 20)."""

import ast
from pathlib import Path
from typing import Dict, List, Set

PACKAGE = Path(__file__).resolve().parent.parent / "source_timify"
MAX_LINES = 450


def _imports(path: Path) -> Set[str]:
    """The source_timify modules `path` imports, wherever the import statement is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from source_timify import x` imports the module x when there is one.
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            names = []
        for name in names:
            parts = name.split(".")
            if parts[0] == "source_timify" and len(parts) > 1 and (PACKAGE / f"{parts[1]}.py").exists():
                found.add(parts[1])
    return found - {path.stem}


def _graph() -> Dict[str, Set[str]]:
    return {path.stem: _imports(path) for path in sorted(PACKAGE.glob("*.py")) if path.stem != "__init__"}


def _cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One import cycle of `graph` ([] without one)."""
    state: Dict[str, str] = {}
    stack: List[str] = []

    def visit(module: str) -> List[str]:
        state[module] = "open"
        stack.append(module)
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == "open":
                return stack[stack.index(imported) :] + [imported]
            if imported not in state:
                cycle = visit(imported)
                if cycle:
                    return cycle
        stack.pop()
        state[module] = "done"
        return []

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return []


def test_no_import_cycle_among_the_modules_of_source_timify():
    graph = _graph()
    assert "page_prefetch" in graph["source"] and "session" in graph["page_prefetch"]  # the graph is read
    assert _cycle(graph) == [], " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_no_module_of_source_timify_is_over_450_lines():
    lengths = {path.name: len(path.read_text().splitlines()) for path in PACKAGE.glob("*.py")}
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}


ROOT = PACKAGE.parent
TEST_TREES = ("unit_tests", "integration_tests", "emulator/tests")
# What ships or runs outside the tests: the connector, the emulator, the demo, the bench, the scripts.
PRODUCT_TREES = ("source_timify", "emulator/timify_emulator", "demo", "bench", "scripts")


def _python_files(trees):
    return [path for tree in trees for path in sorted((ROOT / tree).rglob("*.py"))]


def _imported_names(path: Path) -> Set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_no_test_module_imports_another_test_module():
    """Shared test helpers live in helper modules (conftest.py, destination.py, ...), not in a test_*.py."""
    offending = {
        str(path.relative_to(ROOT)): sorted(
            name for name in _imported_names(path) if name.split(".")[-1].startswith("test_")
        )
        for path in _python_files(TEST_TREES)
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_nothing_outside_the_tests_reaches_into_the_tests_or_sys_path():
    offending = {}
    for path in _python_files(PRODUCT_TREES):
        tree = ast.parse(path.read_text(), filename=str(path))
        imported = {name for name in _imported_names(path) if name.split(".")[0] in {"integration_tests", "unit_tests"}}
        path_edits = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", None) == "sys"
        ]
        if imported or path_edits:
            offending[str(path.relative_to(ROOT))] = (sorted(imported), path_edits)
    assert offending == {}


def test_no_class_swap_outside_cdk_workarounds():
    swaps = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _python_files(("source_timify",))
        if path.name != "cdk_workarounds.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assign)
        and any(isinstance(target, ast.Attribute) and target.attr == "__class__" for target in node.targets)
    ]
    assert swaps == []
