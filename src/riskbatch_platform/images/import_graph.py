"""What each job's image must hold: the import closure of the commands its task definitions run.

A job's commands are the Command and the health check of every task definition that runs the
job's image, and the least-privilege probe (`riskbatch probe`, run in every image by the live and
container suites). Each command resolves, through the riskbatch parser itself, to the functions it
runs (its handler and, for a queue worker, the handler of its kind).

From those functions the closure follows, over the source of src/riskbatch (ast, nothing imported):
- a module reached runs its module-level code: its module-level imports and every name it uses;
- a function reached runs its body: the imports inside it (the jobs' lazy imports) and every name
  it uses; a name used reaches every function of that name in a reached module (by name alone, so
  the closure errs on the side of more), and the dunder methods of a reached module are reached
  (they are called implicitly);
- the handlers of the other commands are never reached: they are what the other images run.
The third-party modules of the closure map to their distributions (importlib.metadata), and those to
their own requirements, transitively: the distributions an image must hold, and nothing more.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import Requirement

from riskbatch_platform import REPO_ROOT

PACKAGE_DIR = REPO_ROOT / "src" / "riskbatch"
PACKAGE = "riskbatch"
# Run in every job's image besides its task definitions' commands: the least-privilege proof
# (test/integration/test_least_privilege.py, and the live suite against a real stack).
EVERY_IMAGE_RUNS = (("probe", "--expect", "s3://bucket/key"),)
# The images' interpreter and platform, for the environment markers of requirements: CPython 3.11
# on x86_64 Linux (the task definitions' RuntimePlatform).
IMAGE_ENVIRONMENT = {
    "python_version": "3.11",
    "python_full_version": "3.11.14",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
}


def normal_name(name: str) -> str:
    """A distribution's name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Body:
    """Module-level code or one function's body: the imports it makes and the names it uses."""

    imports: set[str] = field(default_factory=set)  # absolute module names
    names: set[str] = field(default_factory=set)


@dataclass
class Module:
    name: str
    top: Body
    functions: dict[str, list[tuple[str, Body]]]  # simple name -> [(qualified name, body)]


def _absolute(module: str, node: ast.ImportFrom) -> list[str]:
    if not node.level:
        base = node.module or ""
        # `from pkg import sub` may name a submodule: both are candidates, the resolver keeps what exists
        return [base, *(f"{base}.{alias.name}" for alias in node.names)]
    package = module.rsplit(".", node.level)[0] if module.count(".") >= node.level else PACKAGE
    if node.module:
        return [f"{package}.{node.module}"]
    return [f"{package}.{alias.name}" for alias in node.names]


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _collect(module: str, node: ast.AST, body: Body, functions: dict[str, list[tuple[str, Body]]], prefix: str, in_function: bool) -> None:
    for child in ast.iter_child_nodes(node):
        if _is_type_checking(child):
            continue
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and not in_function:
            own = Body()
            qualified = f"{prefix}{child.name}"
            functions.setdefault(child.name, []).append((qualified, own))
            for decorator in child.decorator_list:  # decorators run when the module does
                _collect(module, ast.Expression(decorator), body, functions, prefix, in_function)
            _collect(module, child, own, functions, f"{qualified}.", True)
            continue
        if isinstance(child, ast.ClassDef) and not in_function:
            body.names.add(child.name)
            _collect(module, child, body, functions, f"{prefix}{child.name}.", in_function)
            continue
        if isinstance(child, ast.Import):
            body.imports.update(alias.name for alias in child.names)
        elif isinstance(child, ast.ImportFrom):
            body.imports.update(_absolute(module, child))  # binding a name calls nothing: its uses are counted where they are
        elif isinstance(child, ast.Name):
            body.names.add(child.id)
        elif isinstance(child, ast.Attribute):
            body.names.add(child.attr)
        _collect(module, child, body, functions, prefix, in_function)


def parse_package(package_dir: Path = PACKAGE_DIR) -> dict[str, Module]:
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = (PACKAGE, *path.relative_to(package_dir).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        top, functions = Body(), {}
        _collect(name, ast.parse(path.read_text(encoding="utf-8"), str(path)), top, functions, "", False)
        modules[name] = Module(name, top, functions)
    return modules


@dataclass
class Closure:
    modules: set[str]  # riskbatch modules imported
    functions: set[str]  # module:qualname reached
    external: set[str]  # top-level names of the third-party modules imported
    via: dict[str, str] = field(default_factory=dict)  # what reached each module, function and external module first

    def path_to(self, node: str) -> list[str]:
        """How the closure reached a module, function (module:qualname) or third-party module."""
        path = [node]
        while path[-1] in self.via and len(path) < 100:
            path.append(self.via[path[-1]])
        return path[::-1]


def closure(
    entry_functions: Iterable[str], excluded: Iterable[str] = (), modules: dict[str, Module] | None = None, entry_module: str = f"{PACKAGE}.cli"
) -> Closure:
    """The modules, functions and third-party imports reached from entry_module's module-level code
    and the named functions (a bare name is entry_module's; "module:function" names another module's);
    the excluded functions (named the same way) are never reached."""
    modules = modules if modules is not None else parse_package()

    def qualified_name(name: str) -> str:
        return name if ":" in name else f"{entry_module}:{name}"

    excluded = {qualified_name(name) for name in excluded}
    reached_modules: set[str] = set()
    reached_functions: set[str] = set()
    names: set[str] = set()
    external: set[str] = set()
    pending_bodies: list[tuple[str, Body]] = []  # (what it is, body)
    via: dict[str, str] = {}
    named_by: dict[str, str] = {}  # name -> the body that first used it

    def reach_function(module: Module, qualified: str, body: Body, reason: str) -> None:
        key = f"{module.name}:{qualified}"
        if key in reached_functions or key in excluded:
            return
        reached_functions.add(key)
        via.setdefault(key, reason)
        pending_bodies.append((key, body))

    def reach_module(name: str, reason: str) -> None:
        for candidate in (name, *(name.rsplit(".", depth)[0] for depth in range(1, name.count(".") + 1))):
            if candidate in modules and candidate not in reached_modules:
                reached_modules.add(candidate)
                if candidate != reason:
                    via.setdefault(candidate, reason)
                module = modules[candidate]
                pending_bodies.append((candidate, module.top))
                for simple, defined in module.functions.items():
                    for qualified, body in defined:
                        if simple in names:
                            reach_function(module, qualified, body, named_by[simple])
                        elif simple.startswith("__") and simple.endswith("__"):
                            reach_function(module, qualified, body, candidate)

    reach_module(entry_module, entry_module)
    for name in entry_functions:
        module_name, _, function = qualified_name(name).partition(":")
        reach_module(module_name, entry_module)
        for qualified, body in modules[module_name].functions[function]:
            reach_function(modules[module_name], qualified, body, module_name)
    while pending_bodies:
        owner, body = pending_bodies.pop()
        for imported in sorted(body.imports):
            if imported == PACKAGE or imported.startswith(f"{PACKAGE}."):
                reach_module(imported, owner)
            elif imported and imported.split(".")[0] not in sys.stdlib_module_names and imported != "__future__":
                external.add(imported.split(".")[0])
                via.setdefault(imported.split(".")[0], owner)
        new_names = body.names - names
        names |= new_names
        for name in new_names:
            named_by[name] = owner
        for module_name in sorted(reached_modules):
            module = modules[module_name]
            for simple in new_names & module.functions.keys():
                for qualified, function_body in module.functions[simple]:
                    reach_function(module, qualified, function_body, owner)
    return Closure(reached_modules, reached_functions, external, via)


def distributions_of(top_level_modules: Iterable[str]) -> set[str]:
    """The distributions that provide these top-level modules (in this environment, which holds the runtime pins)."""
    providers = importlib.metadata.packages_distributions()
    found = set()
    for module in top_level_modules:
        if module not in providers:
            raise LookupError(f"no installed distribution provides the module {module!r}")
        found.update(normal_name(name) for name in providers[module])
    return found


def _requirements_of(distribution: str) -> list[Requirement]:
    return [Requirement(text) for text in importlib.metadata.requires(distribution) or []]


def with_dependencies(distributions: Iterable[str], environment: dict[str, str] | None = None) -> set[str]:
    """The distributions and everything they require in the images' environment, transitively (no extras)."""
    marker_environment: dict[str, Any] = {**default_environment(), **IMAGE_ENVIRONMENT, **(environment or {}), "extra": ""}
    found: set[str] = set()
    todo = [normal_name(name) for name in distributions]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for requirement in _requirements_of(name):
            if requirement.marker is None or requirement.marker.evaluate(marker_environment):
                todo.append(normal_name(requirement.name))
    return found


# --- the jobs and their commands ----------------------------------------------------------------


def job_commands(template: dict[str, Any]) -> dict[str, list[tuple[str, ...]]]:
    """Per job image (data-ingestion, ...): the commands its task definitions run, health checks included."""
    repositories = {
        logical_id: resource["Properties"]["RepositoryName"]["Fn::Sub"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::ECR::Repository"
    }
    commands: dict[str, list[tuple[str, ...]]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::ECS::TaskDefinition":
            continue
        for container in resource["Properties"]["ContainerDefinitions"]:
            repository = re.match(r"\$\{(\w+)\.RepositoryUri\}", container["Image"]["Fn::Sub"]).group(1)
            job = re.fullmatch(r"ecr-(.+)-\$\{EnvironmentSuffix\}", repositories[repository]).group(1)
            found = commands.setdefault(job, [])
            health = container.get("HealthCheck", {}).get("Command", [])
            for command in (tuple(container.get("Command", [])), tuple(health[2:]) if health[:2] == ["CMD", "riskbatch"] else ()):
                if command and command not in found:
                    found.append(command)
    for found in commands.values():
        found.extend(command for command in EVERY_IMAGE_RUNS if command not in found)
    return commands


def job_closure(commands: Iterable[tuple[str, ...]]) -> Closure:
    """The closure of the functions these riskbatch commands run (resolved by the riskbatch parser)."""
    from riskbatch.cli import all_handlers, entry_functions

    def named(function: Any) -> str:
        return f"{function.__module__}:{function.__name__}"

    entries = {named(function) for command in commands for function in entry_functions(list(command))}
    others = {named(function) for function in all_handlers()} - entries
    # Every command of every image runs riskbatch.cli's main and its parser first, then its handler.
    return closure({"main", "build_parser", *entries}, others)


def job_distributions(commands: Iterable[tuple[str, ...]]) -> set[str]:
    """What an image must install for these commands: the closure's distributions and their requirements."""
    return with_dependencies(distributions_of(job_closure(commands).external))
