"""The public surface: what ``__all__`` promises is what the packages export."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import suno_async
import suno_async.testing

PACKAGES = [suno_async, suno_async.testing]


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_all_matches_public_names(module: object) -> None:
    """Every name in __all__ exists, and every public attribute is in __all__."""
    exported = set(module.__all__)  # type: ignore[attr-defined]
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("suno_async")
    }
    assert public <= exported
    assert all(hasattr(module, name) for name in exported)


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_all_is_sorted(module: object) -> None:
    """__all__ is sorted so a diff shows what was added."""
    names = list(module.__all__)  # type: ignore[attr-defined]
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))


def test_public_objects_live_in_private_modules() -> None:
    """Code lives in private modules; the package only re-exports it (type aliases aside)."""
    for name in suno_async.__all__:
        module = getattr(getattr(suno_async, name), "__module__", None)
        if module is not None and module not in {"builtins", "typing"}:
            assert module.split(".")[-1].startswith("_"), name


def test_version_comes_from_metadata() -> None:
    """__version__ is read from the installed distribution."""
    from importlib.metadata import version

    assert suno_async.__version__ == version("suno-async")


def test_py_typed_is_shipped() -> None:
    """The package declares its types to checkers."""
    assert (Path(suno_async.__file__).parent / "py.typed").is_file()


def test_unknown_attribute_is_an_attribute_error() -> None:
    """A misspelt name fails the ordinary way."""
    with pytest.raises(AttributeError):
        importlib.import_module("suno_async").NoSuchThing  # noqa: B018


def test_typing_examples_type_check() -> None:
    """The public API types well for users: tests/typing/api.py passes mypy --strict."""
    api = Path(__file__).parent / "typing" / "api.py"
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(api)],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sound_and_ledger_names_are_exported() -> None:
    """The calls beyond the reference page bring their types to the package's top."""
    from suno_async import _points, _sound

    for name in ("PointsEntry", "PointsEntryKind", "PointsLogPage"):
        assert getattr(suno_async, name) is getattr(_points, name)
    for name in ("DEFAULT_SOUND_MODEL", "SOUND_MODELS", "SoundModel", "SoundRequest"):
        assert getattr(suno_async, name) is getattr(_sound, name)
    assert {"PointsEntry", "PointsLogPage", "SoundRequest"} <= set(suno_async.__all__)
