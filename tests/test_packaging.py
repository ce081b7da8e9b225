"""What the distribution promises: every imported package declared, the licence shipped."""

from __future__ import annotations

import ast
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from helpers import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli", reason="pip install tomli to read pyproject on 3.10")

#: Import names that differ from their distribution's name.
_DISTRIBUTION_OF = {"yaml": "pyyaml"}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    names = set()
    for spec in specs:
        name = spec.split(";")[0]
        for stop in "<>=!~[ ":
            name = name.split(stop)[0]
        names.add(name.strip().lower().replace("_", "-"))
    return names


def _imported() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((ROOT / "suno_async").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                found.setdefault(top, path)
    return found


def test_every_imported_package_is_declared() -> None:
    """A package the code imports is a dependency or in an extra, never borrowed from another."""
    declared = _declared()
    stdlib = sys.stdlib_module_names | {"suno_async", "tomli"}
    missing = {
        top: str(path.relative_to(ROOT))
        for top, path in _imported().items()
        if top not in stdlib and _DISTRIBUTION_OF.get(top, top).replace("_", "-") not in declared
    }
    assert missing == {}


def test_the_wheel_and_the_sdist_ship_the_licence(tmp_path: Path) -> None:
    """Both distributions carry the MIT licence the metadata declares."""
    pytest.importorskip("hatchling", reason="pip install -e '.[test]' installs hatchling")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("*.whl")
    (sdist,) = tmp_path.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        licences = [name for name in archive.namelist() if name.endswith("/LICENSE")]
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith("METADATA")))
    assert licences == ["suno_async-0.1.0.dist-info/licenses/LICENSE"]
    assert b"License-Expression: MIT" in metadata
    assert b"Classifier: Programming Language :: Python :: 3.10" in metadata
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert "suno_async-0.1.0/LICENSE" in names
    assert not [name for name in names if "/.venv" in name or name.endswith(".part")]
