"""Dependencies run one way (STYLE.md, issue 22 item 9): the domain records events through
sessions_app.events and never imports the live package; no module imports another's private name.

The first rule is import-linter's contract in pyproject.toml (`make test` runs `lint-imports`);
these tests show that it holds, that it fails on a violation, and that it covers every module.
"""

import ast
import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import facilitation
import sessions_app

pytestmark = pytest.mark.embedded_pass  # no database, no channel layer: once is enough (tests/conftest.py)

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# May import the live package: it, the web layer, and the app's ready() that connects it to events.
WEB_LAYER = {"live", "views", "urls", "urls_opinion", "urls_participants", "urls_records", "urls_room", "urls_settings", "apps"}


def contract() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as file:
        [found] = [c for c in tomllib.load(file)["tool"]["importlinter"]["contracts"] if c["id"] == "live-one-way"]
    return found


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """lint-imports with our pyproject.toml on the packages found first under `root`."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", str(ROOT / "pyproject.toml")], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=120)


def copy_of_the_code(tmp_path: Path) -> Path:
    for package in ("sessions_app", "facilitation"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "locale", "static", "templates"))
    return tmp_path


def test_the_domain_imports_the_live_package_nowhere():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The domain never imports the live package KEPT" in result.stdout


@pytest.mark.parametrize(("module", "line"), [
    ("opinion/services.py", "from sessions_app.live import renderers\n"),
    # Late and relative (as apps.py does it) counts too, and so does a chain through another module.
    ("events.py", "\n\ndef _late():\n    from .live import broadcaster\n"),
    ("queries.py", "\n\ndef _late():\n    from .views import console\n"),
])  # fmt: skip
def test_a_domain_module_that_imports_the_live_package_breaks_the_contract(tmp_path, module, line):
    copy = copy_of_the_code(tmp_path)
    with open(copy / "sessions_app" / module, "a") as file:
        file.write(line)
    result = lint_imports(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "The domain never imports the live package BROKEN" in result.stdout
    assert f"sessions_app.{module.removesuffix('.py').replace('/', '.')} ->" in result.stdout


def test_every_module_outside_the_web_layer_is_held_by_the_contract():
    modules = {found.name for found in pkgutil.iter_modules(sessions_app.__path__)}
    held = {name.removeprefix("sessions_app.") for name in contract()["source_modules"]}
    assert held == modules - WEB_LAYER
    assert contract()["forbidden_modules"] == ["sessions_app.live"]


def private_names_imported(path: Path, package_root: Path) -> list[str]:
    """`from x import _name`, or `module._name` on a module of ours imported by name, in one file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    ours = {"sessions_app", "facilitation"}
    modules: set[str] = set()  # local names bound to our modules
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in ours):
            here = path.parent.relative_to(package_root).parts
            base = list(here[: len(here) - node.level + 1]) if node.level else []
            target = package_root.joinpath(*base, *(node.module or "").split("."))
            for alias in node.names:
                if alias.name.startswith("_") and alias.name != "_":
                    found.append(f"{path.relative_to(package_root)}:{node.lineno} imports {alias.name}")
                if (target / alias.name).is_dir() or target.joinpath(f"{alias.name}.py").exists():
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules.update(alias.asname for alias in node.names if alias.asname and alias.name.split(".")[0] in ours)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append(f"{path.relative_to(package_root)}:{node.lineno} uses {node.value.id}.{node.attr}")
    return found


def test_no_module_of_the_app_imports_another_modules_private_name():
    package_root = ROOT
    found = [hit for package in (sessions_app, facilitation) for path in sorted(Path(package.__path__[0]).rglob("*.py"))
             for hit in private_names_imported(path, package_root)]
    assert found == []


def test_the_private_name_check_finds_one(tmp_path):
    copy = copy_of_the_code(tmp_path)
    (copy / "sessions_app" / "opinion" / "probe.py").write_text(
        "from .. import events\nfrom ..events import _next_seq\n\nevents._quiet\n")
    found = private_names_imported(copy / "sessions_app" / "opinion" / "probe.py", copy)
    assert found == ["sessions_app/opinion/probe.py:2 imports _next_seq", "sessions_app/opinion/probe.py:4 uses events._quiet"]
