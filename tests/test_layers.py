"""The apps are layers: a module imports only its own app and the apps below it.

portfolio (roles, rates, the shared kernel) < projects < funding < evaluations < reporting <
devtools; `config` (settings, routes, the Celery app) wires them all and nobody imports it.
The design lets presentation modules (views, API, admin, forms, routes) compose the domains
they show, so they may import any product app; domain modules (models, services, selectors,
pure computations, tasks) may not. No import hides inside a function to dodge a cycle.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["portfolio", "projects", "funding", "evaluations", "reporting", "devtools"]
PRESENTATION = {"views", "api", "api_iati", "admin", "forms", "urls"}


def modules():
    for app in [*LAYERS, "config"]:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


def imported_apps(tree):
    """(top-level package, line, inside a function?) for each import of a project app."""
    functions = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
        if node is not function
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in LAYERS or top == "config":
                yield top, node.lineno, id(node) in functions


def sources():
    for app, path in modules():
        yield app, path.relative_to(ROOT), path.read_text()


def violations(found_sources):
    found = []
    for app, relative, source in found_sources:
        tree = ast.parse(source, str(relative))
        presentation = relative.stem in PRESENTATION
        for top, line, in_function in imported_apps(tree):
            where = f"{relative}:{line} imports {top}"
            if in_function and top != app:
                found.append(f"{where} inside a function")
            if top == "config" and app != "config":
                found.append(f"{where}: nothing below the project package imports it")
            elif app == "config" or top == app or top == "config":
                continue
            elif top == "devtools":
                found.append(f"{where}: developer tooling is not part of the product")
            elif app == "devtools" or presentation:
                continue
            elif LAYERS.index(top) > LAYERS.index(app):
                found.append(f"{where}: an upward import")
    return found


def test_no_module_imports_a_layer_above_its_own():
    assert violations(sources()) == []


@pytest.mark.parametrize(
    ("app", "path", "source", "complaint"),
    [
        ("funding", "funding/models.py", "from reporting import workbook", "upward"),
        (
            "funding",
            "funding/services.py",
            "def f():\n    from portfolio import access",
            "inside",
        ),
        ("projects", "projects/models.py", "import devtools.synthetic", "not part of the product"),
        ("reporting", "reporting/tasks.py", "from config.celery import app", "nothing below"),
    ],
)
def test_the_check_catches_each_kind_of_wrong_import(app, path, source, complaint):
    [found] = violations([(app, Path(path), source)])
    assert complaint in found


def test_presentation_may_compose_the_domains_it_shows():
    assert violations([("projects", Path("projects/views.py"), "from funding import models")]) == []
