"""The jobs' package is grouped by concern, and its folders stand in layers: a module imports only its own
folder and the folders below it, no two modules import each other (directly or round a circle), and every
module stays small enough to read (400 lines, the platform's modules too; a test file 800)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from riskbatch_platform import REPO_ROOT

PACKAGE_DIR = REPO_ROOT / "src" / "riskbatch"
# From the top down. The command line (cli, commands) stands above them all; aws and runtime at the bottom
# import nothing of the package, and neither imports the other.
LAYERS = ("jobs", "operations", "reporting", "validation", "model", "inputs", ("aws", "runtime"))
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in (layer if isinstance(layer, tuple) else (layer,))}
ROOT_MODULES = {"riskbatch", "riskbatch.__main__", "riskbatch.cli", "riskbatch.commands"}
MAX_MODULE_LINES, MAX_TEST_LINES = 400, 800


def module_name(path: Path) -> str:
    parts = ("riskbatch", *path.relative_to(PACKAGE_DIR).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).endswith("TYPE_CHECKING")


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """The package's modules a module may import, at module level or inside a function: each `from a import b`
    gives a and a.b (the graph keeps what exists), relative imports resolved (a package's own __init__ is its
    base); only the body of an `if TYPE_CHECKING:` is left out (its else runs)."""
    found: set[str] = set()
    package = module if is_package else module.rsplit(".", 1)[0]

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking(child):
                for branch in child.orelse:
                    visit(ast.Module(body=[branch], type_ignores=[]))
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    origin = f"{base}.{child.module}" if child.module else base
                else:
                    origin = child.module or ""
                if origin == "riskbatch" or origin.startswith("riskbatch."):
                    found.add(origin)
                    found.update(f"{origin}.{alias.name}" for alias in child.names)
            elif isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names if alias.name.startswith("riskbatch."))
            visit(child)

    visit(ast.parse(source))
    return found


def package_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE_DIR.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        # `from riskbatch.operations.preflight import checks` names a module: keep what exists
        found = imports_of(path.read_text(encoding="utf-8"), name, is_package=path.name == "__init__.py")
        graph[name] = {target for target in found if target in modules and target != name}
    return graph


COMMAND_LINE = {"riskbatch.cli", "riskbatch.commands", "riskbatch.__main__"}  # above every folder


def layer_of(module: str) -> str | None:
    if module in COMMAND_LINE:
        return "command line"
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK) else None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(graph.items()):
        own = layer_of(module)
        for target in sorted(targets):
            theirs = layer_of(target)
            if own is None or theirs is None or own == theirs or own == "command line":
                continue
            if theirs == "command line" or RANK[theirs] <= RANK[own]:  # above, or beside at the bottom (aws and runtime stay apart)
                found.append(f"{module} -> {target}")
    return found


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of two or more modules (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return cycles


def test_every_module_belongs_to_a_folder_of_the_layers_or_is_the_command_line() -> None:
    strays = [name for name in package_graph() if name not in ROOT_MODULES and layer_of(name) is None]
    assert strays == []


def test_no_module_imports_a_folder_above_its_own() -> None:
    assert upward_imports(package_graph()) == []


def test_no_modules_import_each_other() -> None:
    assert import_cycles(package_graph()) == []


def test_the_checks_find_what_they_guard() -> None:
    """An engine that reads the report, and two modules in a circle, are found."""
    graph = {"riskbatch.model.engine": {"riskbatch.reporting.pages"}, "riskbatch.aws.storage": {"riskbatch.runtime.logs"},
             "riskbatch.inputs.a": {"riskbatch.inputs.b"}, "riskbatch.inputs.b": {"riskbatch.inputs.a"}, "riskbatch.reporting.pages": set()}  # fmt: skip
    assert upward_imports(graph) == ["riskbatch.aws.storage -> riskbatch.runtime.logs", "riskbatch.model.engine -> riskbatch.reporting.pages"]
    assert import_cycles(graph) == [["riskbatch.inputs.a", "riskbatch.inputs.b"]]
    assert imports_of("from . import x\nfrom .y import z\ndef f():\n    import riskbatch.inputs.files\n", "riskbatch.model.engine") == {
        "riskbatch.model",
        "riskbatch.model.x",
        "riskbatch.model.y",
        "riskbatch.model.y.z",
        "riskbatch.inputs.files",
    }
    # forms that once slipped through: a module named by its package, a relative import in an
    # __init__, the else of TYPE_CHECKING, the command line imported from a folder
    assert "riskbatch.reporting.pages" in imports_of("from riskbatch.reporting import pages\n", "riskbatch.model.engine")
    assert "riskbatch.model.kernels" in imports_of("from . import kernels\n", "riskbatch.model", is_package=True)
    assert "riskbatch.reporting.pages" in imports_of("if not TYPE_CHECKING:\n    pass\nelse:\n    from riskbatch.reporting import pages\n", "x.y")
    assert "riskbatch.reporting.pages" not in imports_of("if TYPE_CHECKING:\n    from riskbatch.reporting import pages\n", "x.y")
    assert upward_imports({"riskbatch.model.engine": {"riskbatch.commands"}}) == ["riskbatch.model.engine -> riskbatch.commands"]


def test_every_folder_says_what_belongs_there() -> None:
    for folder in sorted(path.parent for path in PACKAGE_DIR.rglob("__init__.py")):
        assert ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8"))), f"{folder} has no docstring"


# the limit holds for the platform's package too (emulator, deployment, docs, measurement)
PLATFORM_DIR = REPO_ROOT / "src" / "riskbatch_platform"


@pytest.mark.parametrize(
    "path", sorted([*PACKAGE_DIR.rglob("*.py"), *PLATFORM_DIR.rglob("*.py")]), ids=lambda path: str(path.relative_to(REPO_ROOT / "src"))
)
def test_every_module_is_under_400_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "test").rglob("*.py")), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_every_test_file_is_under_800_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_TEST_LINES
