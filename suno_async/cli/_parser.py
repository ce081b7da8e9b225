"""
The command line's grammar: global options, one subcommand per job, an example in each help.

Global options are accepted before or after the subcommand (``suno-async --json balance`` and
``suno-async balance --json``), as people type them both ways. There is deliberately no
``--api-key`` option: a key in argv is visible to every user of the machine (``ps``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeAlias

from .._errors import ValidationError
from .._models import DEFAULT_MODEL, REMASTER_MODELS, SPEED_MULTIPLIERS, VARIATIONS, check_task_id
from .._points import DEFAULT_LIMIT, LIMIT_MAX
from .._sound import DEFAULT_SOUND_MODEL, SOUND_MODELS, TEMPO_MAX
from ._exit import EXIT_CODES_HELP

__all__ = ["PAID_COMMANDS", "build_parser"]

PROG: Final = "suno-async"

#: Subcommands that spend points, in the order the help lists them.
PAID_COMMANDS: Final = (
    "generate",
    "extend",
    "cover",
    "remaster",
    "crop",
    "speed",
    "upload",
    "whole-song",
    "align",
    "video",
    "wav",
    "sound",
)

_DESCRIPTION: Final = """\
The Suno music API from the shell: start songs, follow them, download them, run bulk jobs.

The key comes from SUNO_API_KEY or --api-key-file (never from the command line), the base
URL from --base-url or SUNO_BASE_URL. Try `suno-async demo` first: it runs offline against
the package's own fake server and spends nothing.
"""

_KEY_HINT: Final = "the key comes from SUNO_API_KEY or --api-key-file"


def _task_id(text: str) -> int:
    try:
        return check_task_id("ID", text)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(exc.rule) from None


def _number(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be within {low:g}..{high:g}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _whole(text: str) -> int:
    """A whole number, its range left to the request's own check (which names the field)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _media(text: str) -> tuple[str, ...]:
    kinds = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    wrong = [k for k in kinds if k not in ("audio", "cover", "video")]
    if wrong or not kinds:
        msg = f"choose from audio, cover, video (comma-separated), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return kinds


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The global options; on subcommands they only override what was given before."""

    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--api-key-file",
        type=Path,
        metavar="FILE",
        default=default(None),
        help="read the API key from FILE instead of SUNO_API_KEY",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=default(None),
        help="the API's base URL (default: SUNO_BASE_URL, else the reseller's)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print one JSON object per line on stdout (events and results), for scripts",
    )
    group.add_argument(
        "--no-progress",
        action="store_true",
        default=default(False),
        help="plain progress lines even on a terminal",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="show the traceback of an error, and the library's logs",
    )
    group.add_argument(
        "--rate-limit",
        type=_rate,
        default=default(None),
        metavar="PER_MINUTE",
        help="requests a minute this process may send, all calls together (default 100, "
        "under the service's 120 per key; 0 for no limit, e.g. against the fake server)",
    )
    # For tests and the fake server: a real service must not be polled this often.
    group.add_argument(
        "--poll-interval", type=_positive, default=default(None), help=argparse.SUPPRESS
    )


Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _sub(
    subs: Subparsers,
    name: str,
    summary: str,
    example: str,
    details: str = "",
) -> argparse.ArgumentParser:
    epilog = f"example:\n  {example}\n\n{EXIT_CODES_HELP}\n\n{_KEY_HINT}."
    parser = subs.add_parser(
        name,
        help=summary,
        description=summary + (f"\n\n{details}" if details else ""),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser, top=False)
    return parser


def _waiting(parser: argparse.ArgumentParser, *, always: bool = False) -> None:
    group = parser.add_argument_group("waiting")
    if not always:
        group.add_argument(
            "--wait", action="store_true", help="wait for the result and print it (free polls)"
        )
    group.add_argument(
        "--download",
        type=Path,
        metavar="DIR",
        help="wait, then download the media into DIR (safe file names, never overwriting)",
    )
    group.add_argument(
        "--timeout",
        type=_positive,
        metavar="SECONDS",
        help="stop waiting after SECONDS (the tasks keep running; exit code 4)",
    )


def _song_options(parser: argparse.ArgumentParser, *, reference: bool) -> None:
    group = parser.add_argument_group("the song")
    group.add_argument("--title", required=True, help="the song's title")
    mode = group.add_mutually_exclusive_group(required=True)
    mode.add_argument("--description", help="inspiration mode: the service writes the lyrics")
    mode.add_argument("--lyrics", help="custom mode: your lyrics (needs --tags)")
    mode.add_argument(
        "--lyrics-file",
        type=Path,
        metavar="FILE",
        help="custom mode, lyrics read from FILE (- for stdin)",
    )
    group.add_argument("--tags", help="style tags, e.g. 'pop, rock' (required with lyrics)")
    group.add_argument("--negative-tags", metavar="TAGS", help="styles to avoid")
    group.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"the model (default: {DEFAULT_MODEL})"
    )
    group.add_argument("--instrumental", action="store_true", help="no vocals")
    group.add_argument("--vocal-gender", choices=("m", "f"), help="the voice: m or f")
    group.add_argument(
        "--style-weight", type=_number(0, 1), metavar="0..1", help="how closely to follow --tags"
    )
    group.add_argument(
        "--weirdness", type=_number(0, 1), metavar="0..1", help="how adventurous to be"
    )
    if reference:
        group.add_argument(
            "--audio-weight",
            type=_number(0, 1),
            metavar="0..1",
            help="how closely to follow the source clip",
        )


def _lyrics_options(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--lyrics", help="the song's lyrics")
    mode.add_argument(
        "--lyrics-file", type=Path, metavar="FILE", help="lyrics read from FILE (- for stdin)"
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("suno-async")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The whole grammar; ``parse_args`` exits 2 (nothing sent) on a usage error."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=f"{EXIT_CODES_HELP}\n\nrun `{PROG} COMMAND --help` for a command's options "
        "and an example.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"{PROG} {_version()}", help="show the version"
    )
    _common(parser, top=True)
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _sub(subs, "balance", "show the points left (free)", f"{PROG} balance")
    _points_log_command(subs)
    _song_commands(subs)
    _clip_commands(subs)
    _task_commands(subs)
    _bulk_commands(subs)
    return parser


def _points_log_command(subs: Subparsers) -> None:
    sub = _sub(
        subs,
        "points-log",
        "show the points ledger, newest first: charges, refunds, top-ups (free)",
        f"{PROG} points-log --all --json",
        "One page (--page, --limit) by default; --all walks every page to the end.",
    )
    pages = sub.add_mutually_exclusive_group()
    pages.add_argument("--page", type=_count, default=1, metavar="N", help="the page (from 1)")
    pages.add_argument("--all", action="store_true", help="every entry, page after page")
    sub.add_argument(
        "--limit",
        type=_count,
        default=None,
        metavar="N",
        help=f"entries per page, at most {LIMIT_MAX} (default: {DEFAULT_LIMIT}, "
        f"{LIMIT_MAX} with --all)",
    )


def _sound_command(subs: Subparsers) -> None:
    sub = _sub(
        subs,
        "sound",
        "start a sound effect or a loop from style tags (priced as a generation, 36 points)",
        f"{PROG} sound --title 'Rain loop' --tags 'rain on a tin roof, lo-fi' --tempo 90 "
        "--key 'A minor' --loop --wait",
        "The service publishes no price for sounds: count on the price of a generation.",
    )
    group = sub.add_argument_group("the sound")
    group.add_argument("--title", required=True, help="the sound's title")
    group.add_argument("--tags", required=True, help="what it sounds like, e.g. 'door slam'")
    group.add_argument(
        "--model",
        default=DEFAULT_SOUND_MODEL,
        help=", ".join(f"{name} ({version})" for name, version in SOUND_MODELS.items())
        + f", or a newer chirp-* name (default: {DEFAULT_SOUND_MODEL})",
    )
    group.add_argument(
        "--tempo", type=_whole, metavar="BPM", help=f"beats per minute, 1 to {TEMPO_MAX}"
    )
    group.add_argument("--key", help="the musical key, e.g. 'C minor'")
    group.add_argument("--loop", action="store_true", help="a clip that repeats seamlessly")
    _waiting(sub)


def _song_commands(subs: Subparsers) -> None:

    sub = _sub(
        subs,
        "generate",
        "start two songs from a description, or from lyrics with style tags (36 points)",
        f"{PROG} generate --title 'Asyncio Blues' --description 'a slow blues about "
        "futures' --download songs/",
        "Without --wait or --download it prints the two task ids and returns at once.",
    )
    _song_options(sub, reference=False)
    _waiting(sub)

    sub = _sub(
        subs,
        "extend",
        "continue a clip from a point in time: two songs (36 points)",
        f"{PROG} extend 3f1c9a52-0000-4000-8000-000000000000 --at 60 --title 'Part 2' "
        "--description 'the same, faster' --wait",
    )
    sub.add_argument("clip_id", metavar="CLIP_ID", help="the Suno id of the clip to extend")
    sub.add_argument(
        "--at", type=float, required=True, metavar="SECONDS", help="continue from SECONDS"
    )
    _song_options(sub, reference=True)
    _waiting(sub)

    sub = _sub(
        subs,
        "cover",
        "cover a clip in a new style: two songs (36 points)",
        f"{PROG} cover 3f1c9a52-0000-4000-8000-000000000000 --title 'Unplugged' "
        "--description 'acoustic guitar and voice' --wait",
    )
    sub.add_argument("clip_id", metavar="CLIP_ID", help="the Suno id of the clip to cover")
    _song_options(sub, reference=True)
    _waiting(sub)
    _sound_command(subs)


def _clip_commands(subs: Subparsers) -> None:
    sub = _sub(
        subs,
        "remaster",
        "remaster a clip: two songs (36 points)",
        f"{PROG} remaster 3f1c9a52-0000-4000-8000-000000000000 --model chirp-carp "
        "--variation subtle --wait",
    )
    sub.add_argument("clip_id", metavar="CLIP_ID", help="the Suno id of the clip")
    sub.add_argument(
        "--model",
        required=True,
        help=", ".join(f"{name} ({version})" for name, version in REMASTER_MODELS.items())
        + ", or a newer chirp-* name",
    )
    sub.add_argument("--variation", choices=VARIATIONS, help="only with V5 and newer models")
    _waiting(sub)

    sub = _sub(
        subs,
        "crop",
        "keep part of a clip (1 point)",
        f"{PROG} crop 3f1c9a52-0000-4000-8000-000000000000 --start 10 --end 40 --wait",
    )
    sub.add_argument("clip_id", metavar="CLIP_ID", help="the Suno id of the clip")
    sub.add_argument("--start", type=float, required=True, metavar="SECONDS")
    sub.add_argument("--end", type=float, required=True, metavar="SECONDS")
    _waiting(sub)

    sub = _sub(
        subs,
        "speed",
        "a faster or slower copy of a clip (1 point)",
        f"{PROG} speed 3f1c9a52-0000-4000-8000-000000000000 --multiplier 1.25 --keep-pitch",
    )
    sub.add_argument("clip_id", metavar="CLIP_ID", help="the Suno id of the clip")
    sub.add_argument(
        "--multiplier",
        type=float,
        required=True,
        choices=SPEED_MULTIPLIERS,
        metavar="X",
        help="one of " + ", ".join(f"{m:g}" for m in SPEED_MULTIPLIERS),
    )
    sub.add_argument("--keep-pitch", action="store_true", help="change tempo, keep pitch")
    sub.add_argument("--title", help="the new clip's title")
    _waiting(sub)

    sub = _sub(
        subs,
        "upload",
        "upload reference audio by URL, to extend or cover it later (1 point)",
        f"{PROG} upload https://example.com/riff.mp3 --wait",
    )
    sub.add_argument("audio_url", metavar="AUDIO_URL", help="an http(s) URL of the audio")
    _waiting(sub)

    sub = _sub(
        subs,
        "whole-song",
        "join a chain of extensions ending at a clip into one song (1 point)",
        f"{PROG} whole-song 3f1c9a52-0000-4000-8000-000000000000 --download songs/",
    )
    sub.add_argument("clip_id", metavar="CLIP_ID", help="the last clip of the chain")
    _waiting(sub)

    sub = _sub(
        subs,
        "align",
        "word timestamps for a finished song's lyrics (1 point)",
        f"{PROG} align 3f1c9a52-0000-4000-8000-000000000000 --lyrics-file song.txt --wait",
    )
    sub.add_argument("clip_id", metavar="CLIP_ID", help="the Suno id of the song")
    _lyrics_options(sub)
    _waiting(sub)

    for name, what in (("video", "a music video"), ("wav", "a WAV file")):
        sub = _sub(
            subs,
            name,
            f"{what} for a finished song task (1 point)",
            f"{PROG} {name} 199824 --download media/",
            "The song's clip id is looked up from the task unless --clip gives it.",
        )
        sub.add_argument("task_id", type=_task_id, metavar="TASK_ID", help="the song's task id")
        sub.add_argument("--clip", metavar="CLIP_ID", help="the song's Suno id")
        _waiting(sub)


def _task_commands(subs: Subparsers) -> None:
    sub = _sub(
        subs,
        "task",
        "show tasks' status now (free; one batch query)",
        f"{PROG} task 199824 199825",
        "Exits 0 when every id is known to the service (whatever its status), 1 otherwise.",
    )
    sub.add_argument("ids", nargs="+", type=_task_id, metavar="ID", help="task ids")

    sub = _sub(
        subs,
        "wait",
        "wait for tasks started earlier (free polls), then print or download them",
        f"{PROG} wait 199824 199825 --download songs/",
        "Ids of videos, WAVs or alignments need --kind so their result can be read.",
    )
    sub.add_argument("ids", nargs="+", type=_task_id, metavar="ID", help="task ids")
    sub.add_argument(
        "--kind",
        choices=("song", "video", "wav", "alignment"),
        default="song",
        help="what the tasks produce (default: song)",
    )
    _waiting(sub, always=True)


def _bulk_commands(subs: Subparsers) -> None:
    sub = _sub(
        subs,
        "bulk",
        "generate one request per line of a JSONL file, resumable, into a folder",
        f"{PROG} bulk prompts.jsonl --out songs/ --max-points 2000",
        "Each line is one generate request as generate_many takes it, e.g.\n"
        '  {"title": "Rain", "description": "lo-fi beats for a rainy night"}\n'
        "The whole file is checked before the first paid call: a bad line is reported with\n"
        "its number and nothing is sent. A journal beside the output (or --journal) records\n"
        "every request: run the same command again after Ctrl-C or a crash to resume, and\n"
        "nothing that may have reached the service is sent twice. Lines added at the end of\n"
        "the file are sent by the next run; edited or removed lines are refused by number.\n"
        "Ctrl-C, SIGTERM and SIGHUP stop it the same way: the calls in flight are answered\n"
        "and journaled first (exit 130, 143, 129).",
    )
    sub.add_argument("file", type=Path, metavar="FILE.jsonl", help="the requests, one per line")
    sub.add_argument("--out", type=Path, required=True, metavar="DIR", help="the media folder")
    sub.add_argument(
        "--journal",
        type=Path,
        metavar="PATH",
        help="the journal (default: DIR/suno-journal.sqlite)",
    )
    sub.add_argument(
        "--max-in-flight", type=_count, metavar="N", help="paid calls in flight at once"
    )
    sub.add_argument(
        "--max-points", type=_count, metavar="N", help="stop sending once N points are spent"
    )
    sub.add_argument(
        "--dry-run", action="store_true", help="check the file, print the cost, send nothing"
    )
    sub.add_argument(
        "--resend-unknown",
        action="store_true",
        help="send again the requests a crash left unknown (they may be paid twice)",
    )
    sub.add_argument(
        "--media",
        type=_media,
        default=("audio",),
        metavar="KINDS",
        help="what to download of each song, comma-separated: audio, cover, video (default: audio)",
    )
    sub.add_argument("--no-download", action="store_true", help="do not download the media")
    sub.add_argument(
        "--dedupe",
        action="store_true",
        help="send identical lines once (the first); without it each is sent and paid",
    )
    sub.add_argument(
        "--allow-existing-media",
        action="store_true",
        help="start a new journal even though DIR holds this run's songs (pays for them again)",
    )
    sub.add_argument(
        "--max-download-mb",
        type=_count,
        default=200,
        metavar="MB",
        help="refuse a downloaded file larger than MB megabytes (default: 200, several times "
        "the largest real song or video)",
    )

    sub = _sub(
        subs,
        "demo",
        "a bulk run of two dozen songs against the package's own fake server (offline, free)",
        f"{PROG} demo",
        "It never talks to the real service, whatever SUNO_API_KEY says.",
    )
    sub.add_argument(
        "--out", type=Path, metavar="DIR", help="the media folder (default: a new temp folder)"
    )

    # Listed for --help only: `suno-async mcp ...` is handed to suno_async.mcp, options and all.
    _sub(
        subs,
        "mcp",
        "an MCP server for AI agents, under a points cap (needs the mcp extra)",
        f"{PROG} mcp --max-points 200   (see {PROG} mcp --help)",
    )
