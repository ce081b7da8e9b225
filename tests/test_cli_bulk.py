"""`suno-async bulk` and `suno-async demo`, as subprocesses against fake servers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_harness import ThreadedFake, run_cli, write_jsonl
from suno_async.cli import ExitCode


@pytest.fixture
def fake() -> Iterator[ThreadedFake]:
    with ThreadedFake() as server:
        yield server


def test_a_malformed_line_is_reported_by_number_and_nothing_sent(
    fake: ThreadedFake, tmp_path: Path
) -> None:
    """Every line is checked first: the bad ones are named by number, exit 2, no request."""
    path = tmp_path / "songs.jsonl"
    good = {"title": "Rain", "description": "lo-fi beats"}
    lines = [json.dumps(good), "", json.dumps(good), "{not json", json.dumps({"title": "x"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = run_cli("bulk", str(path), "--out", str(tmp_path / "out"), fake=fake)
    assert run.code == ExitCode.NOTHING_SENT
    (line,) = run.stderr.strip().splitlines()
    assert "line 4: not JSON" in line
    assert "line 5: description/lyrics: give exactly one" in line
    assert "Nothing was sent" in line
    assert fake.sync(lambda: fake.server.total_requests) == 0


def test_an_unknown_field_is_named(fake: ThreadedFake, tmp_path: Path) -> None:
    """A typo in a field name is caught with the list of the real ones."""
    path = write_jsonl(tmp_path / "a.jsonl", [{"title": "t", "descripton": "d"}])
    run = run_cli("bulk", str(path), "--out", str(tmp_path / "out"), fake=fake)
    assert run.code == ExitCode.NOTHING_SENT
    assert "line 1: unknown field 'descripton'" in run.stderr


def test_demo_never_talks_to_the_configured_service(fake: ThreadedFake, tmp_path: Path) -> None:
    """With a key and a base URL set, the demo still runs on its own fake server only."""
    out = tmp_path / "demo"
    run = run_cli("demo", "--out", str(out), "--json", fake=fake, timeout=60)
    assert run.code == ExitCode.OK, run.stderr
    assert fake.sync(lambda: fake.server.total_requests) == 0
    results = run.of("result")
    assert len(results) == 24
    assert sum(not r["ok"] for r in results) == 2
    (demo,) = run.of("demo")
    assert demo["folder"] == str(out)
