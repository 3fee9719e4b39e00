"""The image and `make setup` install what poetry.lock pins, and the package declares what it imports.

requirements.txt (the image) and requirements-dev.txt (`make setup`, CI) are exported from
poetry.lock (`make lock`). These tests fail when one is edited without the other, or when code
starts importing a package that pyproject.toml does not declare.
"""

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Dict, Set, Tuple

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> Dict[str, dict]:
    return {_normal(p["name"]): p for p in tomllib.loads((ROOT / "poetry.lock").read_text())["package"]}


def _requirements(file_name: str) -> Dict[Tuple[str, str], Set[str]]:
    """(name, version) -> hashes of a hash-pinned requirements file (a package may be pinned at
    two versions for two Python versions)."""
    text = (ROOT / file_name).read_text().replace("\\\n", " ")
    pinned = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
        assert match, f"{file_name}: not an exact pin: {line[:80]}"
        hashes = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
        assert hashes, f"{file_name}: {match.group(1)} has no --hash"
        pinned[(_normal(match.group(1).split("[")[0]), match.group(2))] = hashes
    return pinned


def _locked_in_groups(groups: Set[str]) -> Dict[Tuple[str, str], Set[str]]:
    return {
        (_normal(package["name"]), package["version"]): {f["hash"].split(":", 1)[1] for f in package["files"]}
        for package in tomllib.loads((ROOT / "poetry.lock").read_text())["package"]
        if groups & set(package.get("groups", ["main"]))
    }


def test_image_requirements_pin_exactly_the_locked_runtime_packages_with_their_hashes():
    assert _requirements("requirements.txt") == _locked_in_groups({"main"})


def test_setup_requirements_pin_exactly_the_locked_runtime_and_test_packages_with_their_hashes():
    assert _requirements("requirements-dev.txt") == _locked_in_groups({"main", "dev"})


def test_every_declared_dependency_is_in_the_lock_at_a_version_it_allows():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["poetry"]
    declared = {**project["dependencies"], **project["group"]["dev"]["dependencies"]}
    declared.pop("python")
    locked = _lock()
    for name, _constraint in declared.items():
        assert _normal(name) in locked, f"{name} is declared in pyproject.toml but not in poetry.lock: run `make lock`"
    assert locked["airbyte-cdk"]["version"] == declared["airbyte-cdk"]


def test_the_image_and_setup_install_only_the_hash_checked_requirements():
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r requirements.txt" in dockerfile
    assert "pip install --quiet --no-deps ." in dockerfile
    assert "--require-hashes -r requirements-dev.txt" in makefile
    assert "--no-deps -e ." in makefile
    # Nothing else is pip-installed by name, which would resolve on the day of the build.
    assert not re.search(r"pip install[^\n]*\"[a-z-]+[<>=]", makefile.split("lock:")[0])


def _imported_top_level_modules() -> Set[str]:
    modules: set = set()
    for path in (ROOT / "source_timify").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"source_timify"}


def test_every_third_party_module_the_package_imports_is_declared_and_every_declared_one_is_used():
    distributions = packages_distributions()
    imported = {_normal(distributions[module][0]) for module in _imported_top_level_modules()}
    declared = {
        _normal(name)
        for name in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["poetry"]["dependencies"]
        if name != "python"
    }
    assert imported == declared
