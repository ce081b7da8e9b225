"""
The one converter, and reading the API's answers: the envelope, task ids, rows, records and
the points ledger.

Every quirk the API reference leaves open is absorbed here: camelCase or snake_case names,
numbers sent as strings, null or missing fields, unknown new fields (ignored, kept in
``extra``), and ``success``/``message`` at either level of the envelope. Nothing else reads
raw dicts but the two neighbours that use this module's ``converter``: ``_results`` reads a
finished row's ``extend`` as the result its kind promises, and ``_encode`` writes requests.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._checks import MAX_TASK_ID
from ._errors import RequestInfo, UndecodableResponseError
from ._models import (
    EMPTY,
    AlignedWord,
    Balance,
    FileInfo,
    Task,
    TaskStatus,
)
from ._points import PointsEntry, PointsEntryKind, PointsLogPage

__all__ = [
    "Envelope",
    "Page",
    "WireFormatError",
    "converter",
    "flat_row",
    "other_task",
    "parse_batch",
    "parse_envelope",
    "parse_task_ids",
    "peek_own_row",
    "peek_row",
    "snippet",
    "structure_balance",
    "structure_points_log",
    "structure_task",
    "unreadable",
]

T = TypeVar("T")

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


class WireFormatError(ValueError):
    """
    A body parsed as JSON but is not shaped like the API's answer.

    ``task_id`` names the task a row is about when its id could be read but the rest not,
    so a wait on that task can end with the error instead of waiting for a row that never
    comes readable. ``part`` is the piece of the answer that could not be read (a row's
    status fields, say), when one is known: a short snippet of it lets a user report the
    shape without sending the whole row.
    """

    def __init__(self, message: str, *, task_id: int | None = None, part: object = None) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.part = part


_SNIPPET: Final = reprlib.Repr()
_SNIPPET.maxlevel = 4
_SNIPPET.maxstring = _SNIPPET.maxother = 160
_SNIPPET.maxlist = _SNIPPET.maxtuple = _SNIPPET.maxdict = 8


def snippet(value: object, limit: int = 200) -> str:
    """
    A short repr of an answer for an error message: bounded in depth and length, so neither
    JSON nested a thousand deep nor a 200 MB body can make the error itself fail.
    """
    try:
        text = _SNIPPET.repr(value)
    except Exception:  # an error message must not fail in its turn
        text = f"<{type(value).__name__}>"
    return text[:limit]


@lru_cache(maxsize=512)
def _snake(key: str) -> str:
    return _CAMEL.sub(r"_\1", key).lower()


def _snake_keys(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {_snake(k): v for k, v in obj.items()}


def _as_mapping(obj: object, what: str) -> Mapping[str, Any]:
    if type(obj) is dict:
        return obj
    if not isinstance(obj, Mapping):
        msg = f"{what} should be a JSON object, got {type(obj).__name__}"
        raise WireFormatError(msg)
    return obj


# --- primitive quirks -------------------------------------------------------------------


def _int(value: object, _: object = None) -> int:
    if type(value) is str and value.isdecimal() and len(value) < 20:
        return int(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if number.is_integer():
                return int(number)
    msg = f"expected an integer, got {snippet(value, 60)}"
    raise WireFormatError(msg)


def _float(value: object, _: object = None) -> float:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except (ValueError, OverflowError):
        pass
    msg = f"expected a number, got {snippet(value, 60)}"
    raise WireFormatError(msg)


def _str(value: object, _: object = None) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    msg = f"expected a string, got {snippet(value, 60)}"
    raise WireFormatError(msg)


def _bool(value: object, _: object = None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"false", "0", "no", ""}:
        return False
    msg = f"expected a boolean, got {snippet(value, 60)}"
    raise WireFormatError(msg)


_STATUS_BY_WIRE: Final[dict[object, TaskStatus]] = {
    **{status.value: status for status in TaskStatus},
    **{str(status.value): status for status in TaskStatus},
}


#: The live service's status words, beside the reference's numbers.
_STATUS_WORDS: Final[Mapping[str, TaskStatus]] = {
    **dict.fromkeys(("pending", "queued", "queue", "waiting", "submitted"), TaskStatus.QUEUED),
    **dict.fromkeys(("processing", "running", "generating", "streaming"), TaskStatus.GENERATING),
    **dict.fromkeys(
        ("completed", "complete", "success", "succeeded", "succeed", "done", "finished"),
        TaskStatus.SUCCEEDED,
    ),
    **dict.fromkeys(("failed", "failure", "fail", "error", "errored"), TaskStatus.FAILED),
}


def _status(value: object, _: object = None) -> TaskStatus:
    status = _STATUS_BY_WIRE.get(value) if type(value) in (int, str) else None
    if status is not None:
        return status
    if isinstance(value, str):
        word = _STATUS_WORDS.get(value.strip().lower())
        if word is not None:
            return word
    try:
        return TaskStatus(_int(value))
    except ValueError:
        shown = snippet(value, 60)
        msg = f"expected a task status (1 to 4, or a word such as 'completed'), got {shown}"
        raise WireFormatError(msg) from None


def _present(value: object) -> bool:
    """Whether a field says something: the service sends "" and null alike for "none"."""
    return value is not None and value != ""


def _raw(value: Any, _: object = None) -> Any:
    return value


def _optional(
    fn: Callable[[object, object], T], exact: type[T] | None = None
) -> Callable[[object, object], T | None]:
    def structure(value: object, type_: object) -> T | None:
        if exact is not None and type(value) is exact and value != "":
            return value  # its type is exactly T
        if value is None or value == "":
            return None
        return fn(value, type_)

    return structure


converter: Final = cattrs.Converter(forbid_extra_keys=False, detailed_validation=False)
for _type, _fn in ((int, _int), (float, _float), (str, _str), (bool, _bool)):
    converter.register_structure_hook(_type, _fn)
    converter.register_structure_hook(_type | None, _optional(_fn, _type))
converter.register_structure_hook(TaskStatus, _status)

# Field names on the wire, where they differ from ours.
_WIRE_NAMES: Final[Mapping[type, Mapping[str, str]]] = {
    FileInfo: {
        "mp3_url": "mp3Url",
        "mp4_url": "mp4Url",
        "cover_url": "coverUrl",
        "wav_url": "wavUrl",
        "m4a_url": "m4aUrl",
    },
    Task: {"file_info": "fileInfo", "errormsg_en": "errormsgEn"},
    PointsEntry: {"kind": "type"},
}
#: Names a field is also sent under, besides its snake_case and camelCase spellings.
_ALIASES: Final[Mapping[type, Mapping[str, str]]] = {
    Task: {"task_id": "id", "taskId": "id"},
    # The live service's covers: the full-size image first, its thumbnail last.
    FileInfo: dict.fromkeys(
        ("cosUrl", "cos_url", "bigUrl", "big_url", "thumbImg", "thumb_img"), "coverUrl"
    ),
    PointsEntry: {
        "log_id": "id",
        "amount": "points",
        "balance_after": "balance",
        "after_balance": "balance",
        "memo": "remark",
        "description": "remark",
        "create_time": "created_at",
        "created_time": "created_at",
    },
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _wire_names(cls: type[Any]) -> dict[str, str]:
    """Each field's name on the wire (``extra`` aside)."""
    names = _WIRE_NAMES.get(cls, {})
    return {f.name: names.get(f.name, f.name) for f in attrs.fields(cls) if f.name != "extra"}


def _spellings(cls: type[Any]) -> dict[str, str]:
    """Every name a field may come under (snake_case, camelCase, aliases): its wire name."""
    spellings = {
        spelling: wire
        for name, wire in _wire_names(cls).items()
        for spelling in (name, wire, _camel(name))
    }
    spellings.update(_ALIASES.get(cls, {}))
    return spellings


def _respelt(others: AbstractSet[str], spellings: Mapping[str, str]) -> bool:
    """
    Whether any of these names, not the wire's own, spells a field otherwise. A name in
    lower case is its own snake_case, so only the others are respelt to be looked up.
    """
    return not (others.isdisjoint(spellings) and all(key.islower() for key in others)) and any(
        key in spellings or _snake(key) in spellings for key in others
    )


def _register_record(cls: type[Any]) -> None:
    """
    A plain record: cattrs generates its hooks, each field read under the reference's name.

    The only hand-written part is for names that vary: a row spelling a field otherwise
    (snake_case or camelCase, ``task_id`` for ``id``) is respelt first, and fields this
    version does not know are kept in ``extra`` (snake_case). Unstructuring writes the
    reference's names, so round trips exercise the same path.
    """
    names = _WIRE_NAMES.get(cls, {})
    wire_of = _wire_names(cls)
    usual = frozenset(wire_of.values())
    spellings = _spellings(cls)
    has_extra = len(wire_of) < len(attrs.fields(cls))
    overrides: dict[str, Any] = {name: override(rename=wire) for name, wire in names.items()}
    if has_extra:
        overrides["extra"] = override(omit=True)
    if "extend" in wire_of:
        overrides["extend"] = override(struct_hook=_raw)
    generated = make_dict_structure_fn(cls, converter, **overrides)

    def structure(obj: object, _: object) -> Any:
        data = _as_mapping(obj, cls.__name__)
        extra: dict[str, Any] = {}
        if not data.keys() <= usual:
            data, extra = _respell(data, spellings)
        try:
            instance = generated(data, cls)
        except KeyError as exc:
            msg = f"{cls.__name__} needs {exc.args[0]!r}, which the answer lacks"
            raise WireFormatError(msg) from None
        if extra and has_extra:
            object.__setattr__(instance, "extra", MappingProxyType(extra))
        return instance

    unstructure_overrides: dict[str, Any] = {
        name: override(rename=wire) for name, wire in names.items()
    }
    if has_extra:
        unstructure_overrides["extra"] = override(omit=True)
    generated_unstructure = make_dict_unstructure_fn(cls, converter, **unstructure_overrides)

    def unstructure(instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = generated_unstructure(instance)
        if has_extra:
            data.update(instance.extra)
        return data

    converter.register_structure_hook(cls, structure)
    converter.register_unstructure_hook(cls, unstructure)


def _respell(
    data: Mapping[str, Any], spellings: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Known fields under the reference's names, and the others (snake_case) apart."""
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        wire = spellings.get(key)
        if wire is None:
            snake = _snake(key)
            wire = spellings.get(snake)
            if wire is None:
                extra[snake] = value
                continue
        # A value beats an empty one; among values, the reference's own spelling wins.
        if wire not in known or (_present(value) and (key == wire or not _present(known[wire]))):
            if wire in known and _present(known[wire]):
                extra[_snake(wire)] = known[wire]
            known[wire] = value
        elif _present(value):
            extra[_snake(key)] = value  # another spelling's value won: this one is kept too
    return known, extra


_register_record(FileInfo)
_structure_file_info: Final = converter.get_structure_hook(FileInfo)


def _optional_file_info(value: object, _: object = None) -> FileInfo | None:
    """A finished row's media URLs; null, empty or not an object while a task runs."""
    if not value or not isinstance(value, Mapping):
        return None
    info: FileInfo = _structure_file_info(value, FileInfo)
    return info


converter.register_structure_hook(FileInfo | None, _optional_file_info)
for _cls in (Balance, Task, AlignedWord):
    _register_record(_cls)
_structure_task: Final = converter.get_structure_hook(Task)
_TASK_WIRE_NAMES: Final = frozenset(_wire_names(Task).values())
_TASK_SPELLINGS: Final = _spellings(Task)


def unreadable(
    what: str,
    exc: Exception,
    data: object,
    *,
    request: RequestInfo | None = None,
    paid: bool = False,
    show: bool = False,
) -> UndecodableResponseError:
    """
    The one "could not read the answer" error: what could not be read, why, and a snippet.

    An answer to a paid call was accepted, and charged: the snippet holds its task ids.
    The snippet is of the part that could not be read where the error says which (a row's
    status fields), and then it is in the message too, as it is with ``show``: the message
    is what a user pastes in a report.
    """
    charged = "; the call was accepted and charged: its task ids are in the snippet" if paid else ""
    part = exc.part if isinstance(exc, WireFormatError) else None
    shown = snippet(data if part is None else part)
    if part is not None:
        charged += f"; unreadable part: {shown}"
    elif show:
        charged += f"; answer: {shown}"
    return UndecodableResponseError(
        f"{what} could not be read ({exc}){charged}",
        snippet=shown,
        request=request,
        may_have_charged=paid,
    )


# --- envelope ---------------------------------------------------------------------------


@attrs.frozen
class Envelope:
    """The API's ``{"code", "message", "data", "success"}`` wrapper, read leniently."""

    code: int | None
    message: str
    success: bool | None
    data: Any

    @property
    def ok(self) -> bool:
        if self.success is False:
            return False
        return self.code is None or self.code == 200


def parse_envelope(body: object) -> Envelope:
    """
    Read the envelope; ``success`` and ``message`` may sit inside ``data`` instead.

    A body with neither ``code`` nor ``success`` nor ``data`` is not an envelope at all.
    """
    top = _as_mapping(body, "the response")
    if "code" not in top and "data" not in top and "success" not in top:
        msg = "the response has no code, data or success: not the API's envelope"
        raise WireFormatError(msg)
    data = top.get("data")
    inner = data if isinstance(data, Mapping) else EMPTY
    code = top.get("code", inner.get("code") if "success" in inner else None)
    success = top.get("success", inner.get("success"))
    message = top.get("message", inner.get("message")) or top.get("msg") or ""
    return Envelope(
        code=None if code is None else _int(code),
        # Bounded: a message that is not text (nested a thousand deep, say) cannot break it.
        message=message if isinstance(message, str) else snippet(message),
        success=None if success is None else _bool(success),
        data=data,
    )


# --- typed results ----------------------------------------------------------------------


def structure_balance(data: object) -> Balance:
    if isinstance(data, (int, str)) and not isinstance(data, bool):
        return Balance(remaining_points=_int(data))
    balance: Balance = converter.structure(data, Balance)
    return balance


_ID_KEYS: Final = ("ids", "task_ids", "taskIds", "id", "task_id", "taskId")


def parse_task_ids(data: object) -> list[int]:
    """
    A call's new task ids: one id, a list of them, or either as strings or objects.

    At least one, each a positive 64-bit integer: a paid call answered otherwise is an
    answer that could not be read, not a handle on task 0.
    """
    for _ in range(3):  # {"data": {"ids": [...]}} at most; a deeper nest is no answer
        if not isinstance(data, Mapping):
            break
        key = next((key for key in _ID_KEYS if key in data), None)
        if key is None:
            msg = f"no task id in {snippet(list(data), 100)}"
            raise WireFormatError(msg)
        data = data[key]
    if isinstance(data, list):
        ids = [_int(item) for item in data]
    elif isinstance(data, str) and "," in data:
        ids = [_int(part) for part in data.split(",") if part.strip()]
    elif data is None:
        ids = []
    else:
        ids = [_int(data)]
    if not ids:
        msg = "the call returned no task id"
        raise WireFormatError(msg)
    for task_id in ids:
        if not 0 < task_id <= MAX_TASK_ID:
            msg = f"expected positive task ids, got {task_id}"
            raise WireFormatError(msg)
    return ids


def structure_task(row: object) -> Task:
    """A row read as a :class:`Task`; a Task read already passes through."""
    if type(row) is Task:
        return row
    task: Task = _structure_task(flat_row(row), Task)
    return task


#: Keys only a row of the live dialect has: where none is present, a row is the reference's.
_LIVE_KEYS: Final = frozenset(
    {"result", "task_id", "taskId", "status_code", "statusCode", "error", "error_message"}
)
_TASK_ID_KEYS: Final = ("task_id", "taskId")
_STATUS_CODE_KEYS: Final = ("status_code", "statusCode")
_REASON_KEYS: Final = ("errormsg", "error_message", "errorMessage", "error", "errorMsg")


def _status_code(value: object) -> bool:
    """Whether a value is one of the reference's status numbers (1 to 4), not a word."""
    return type(value) in (int, str) and value in _STATUS_BY_WIRE


def _first(sources: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> Any:
    return next((v for src in sources for key in keys if _present(v := src.get(key))), None)


def _readable_id(value: object) -> bool:
    try:
        return _present(value) and not isinstance(value, bool) and _int(value) > 0
    except WireFormatError:
        return False


def _reason_text(reason: object) -> str | None:
    if isinstance(reason, str):
        return reason
    if isinstance(reason, Mapping):
        message = reason.get("message") or reason.get("msg")
        return message if isinstance(message, str) else snippet(reason)
    return None  # a bare true or a number says no reason


def flat_row(row: object) -> Mapping[str, Any]:
    """
    A task row of either dialect, in the reference's shape: every reader of rows starts here.

    The live service puts a word status on the outer object, the outputs under ``result``,
    and its own row number in ``id``. So ``result`` is merged over the outer object; the task
    id comes from ``task_id`` or ``result.id`` (the row number is kept as ``row_id``); the
    status is the first of ``status_code`` and the numeric statuses, else a word; and the
    failure reason is ``errormsg`` wherever, and under whichever name, it came.
    """
    data = _as_mapping(row, "a task row")
    if data.keys().isdisjoint(_LIVE_KEYS):
        return data
    result = data.get("result")
    inner: Mapping[str, Any] = result if isinstance(result, Mapping) else EMPTY
    merged = {key: value for key, value in data.items() if key != "result" or not inner}
    for key, value in inner.items():
        if _present(value) or key not in merged:
            merged[key] = value
    sources = (inner, data)
    candidates = [src.get(key) for src in sources for key in _TASK_ID_KEYS]
    candidates += [inner.get("id"), data.get("id")]
    task_id = next((c for c in candidates if _readable_id(c)), data.get("id"))
    row_id = data.get("id")
    if _present(row_id) and str(row_id) != str(task_id):
        merged["row_id"] = row_id
    for key in (*_TASK_ID_KEYS, *_STATUS_CODE_KEYS):
        merged.pop(key, None)
    merged["id"] = task_id
    statuses = [src.get(key) for src in sources for key in _STATUS_CODE_KEYS]
    statuses += [inner.get("status"), data.get("status")]
    merged["status"] = next(
        (s for s in statuses if _status_code(s)), next((s for s in statuses if _present(s)), None)
    )
    if not _present(merged.get("errormsg")):
        reason = _reason_text(_first(sources, _REASON_KEYS))
        if reason is not None:
            merged["errormsg"] = reason
    return merged


def peek_row(row: object) -> tuple[int, TaskStatus]:
    """
    Id and status only, from a row of either dialect: while a task runs, that is all a poll
    needs, so the rest of the row is not read.
    """
    if type(row) is dict and row.keys().isdisjoint(_LIVE_KEYS):
        # The reference's own shapes: an integer id, or its digits (as some rows send it).
        task_id = row.get("id")
        wire = row.get("status")
        if type(wire) is int or type(wire) is str:
            status = _STATUS_BY_WIRE.get(wire)
            if status is not None:
                if type(task_id) is int:
                    return task_id, status
                if type(task_id) is str and task_id.isdecimal() and len(task_id) < 20:
                    return int(task_id), status
    elif type(row) is dict:
        peeked = _peek_live(row)
        if peeked is not None:
            return peeked
    try:
        data = flat_row(row)
    except WireFormatError as exc:
        raise WireFormatError(str(exc), part=row) from exc
    try:
        found = _int(data.get("id"))
    except WireFormatError as exc:
        msg = f"a task row with no readable id ({exc})"
        raise WireFormatError(msg, part=_fields(row, _ID_FIELDS)) from exc
    try:
        return found, _status(data.get("status"))
    except ValueError as exc:  # a WireFormatError, or a status the enum lacks
        msg = f"task {found}: a row with no readable status ({exc})"
        raise WireFormatError(msg, task_id=found, part=_fields(row, _STATUS_FIELDS)) from exc


#: Where a row of either dialect keeps its ids and its status, outside and in ``result``.
_ID_FIELDS: Final = ("id", *_TASK_ID_KEYS)
_STATUS_FIELDS: Final = ("status", *_STATUS_CODE_KEYS)


def _fields(row: object, keys: Sequence[str]) -> dict[str, object]:
    """
    The fields of ``keys`` a row holds, outside and under ``result``: the part of a row
    that could not be read, as short as it can be to say why.
    """
    data = row if isinstance(row, Mapping) else EMPTY
    found: dict[str, object] = {key: data[key] for key in keys if key in data}
    result = data.get("result")
    if isinstance(result, Mapping):
        found.update({f"result.{key}": result[key] for key in keys if key in result})
    return found


def other_task(found: int, task_id: int) -> WireFormatError:
    """The single query answered with a readable row about another task than the one asked."""
    return WireFormatError(f"the answer is about task {found}, not task {task_id}")


def _peek_live(row: dict[str, Any]) -> tuple[int, TaskStatus] | None:
    """
    The live service's usual row read in a few lookups, as most rows of every tick are
    one: ``task_id`` outside, a numeric status in ``result``, and none of the other
    spellings that ``flat_row`` would weigh first. Anything else is left to ``flat_row``.
    """
    result = row.get("result")
    if type(result) is not dict or not _LIVE_PEEK_KEYS.isdisjoint(result):
        return None
    if "taskId" in row or "status_code" in row or "statusCode" in row:
        return None
    wire = result.get("status")
    status = _STATUS_BY_WIRE.get(wire) if type(wire) is int else None
    task_id = row.get("task_id")
    if status is None or type(task_id) is not str:
        return None
    if task_id.isdecimal() and len(task_id) < 20 and int(task_id) > 0:
        return int(task_id), status
    return None


#: Keys in ``result`` that ``flat_row`` reads before its ``status`` or the outer ``task_id``.
_LIVE_PEEK_KEYS: Final = frozenset({"task_id", "taskId", "status_code", "statusCode"})


def peek_own_row(row: object, task_id: int) -> TaskStatus:
    """The status of the single query's row, which must be about the task asked for."""
    found, status = peek_row(row)
    if found != task_id:
        raise other_task(found, task_id)
    return status


@attrs.frozen
class Page:
    """One page of a batch query: its rows, still raw, and the total when the service says."""

    rows: Sequence[Any]
    total: int | None


def parse_batch(data: object) -> Page:
    if isinstance(data, list):
        return Page(rows=data, total=None)
    mapping = _as_mapping(data, "a batch query's data")
    rows = mapping.get("rows", mapping.get("list", mapping.get("records"))) or ()
    if not isinstance(rows, (list, tuple)):
        msg = f"batch rows should be a list, got {type(rows).__name__}"
        raise WireFormatError(msg)
    total = mapping.get("total")
    return Page(rows=rows, total=None if total is None else _int(total))


# --- the points ledger ------------------------------------------------------------------

#: Kinds by word, should a ledger name them rather than number them.
_ENTRY_KIND_WORDS: Final[Mapping[str, PointsEntryKind]] = {
    **dict.fromkeys(("consume", "consumption", "spend", "deduct"), PointsEntryKind.CONSUME),
    **dict.fromkeys(("recharge", "topup", "top_up", "top-up"), PointsEntryKind.RECHARGE),
    **dict.fromkeys(("adjust", "adjustment"), PointsEntryKind.ADJUST),
    **dict.fromkeys(("refund", "refunded"), PointsEntryKind.REFUND),
}


def _entry_kind(value: object, _: object = None) -> PointsEntryKind | None:
    """A kind by number or word; one this version does not know is None, not an error."""
    if not _present(value) or isinstance(value, bool):
        return None
    if isinstance(value, str):
        word = _ENTRY_KIND_WORDS.get(value.strip().lower())
        if word is not None:
            return word
    try:
        return PointsEntryKind(_int(value))
    except ValueError:  # a WireFormatError, or a number the enum lacks
        return None


converter.register_structure_hook(PointsEntryKind | None, _entry_kind)
_register_record(PointsEntry)
_structure_entry_record: Final = converter.get_structure_hook(PointsEntry)


def _structure_entry(obj: object, _: object) -> PointsEntry:
    entry: PointsEntry = _structure_entry_record(obj, PointsEntry)
    raw = obj.get("type") if isinstance(obj, Mapping) else None
    if entry.kind is None and _present(raw):
        object.__setattr__(entry, "extra", MappingProxyType({**entry.extra, "type": raw}))
    return entry


converter.register_structure_hook(PointsEntry, _structure_entry)
_LOG_ROW_KEYS: Final = ("list", "rows", "records", "items", "logs")


def structure_points_log(data: object, *, page: int, limit: int) -> PointsLogPage:
    """
    One page of ``GET /points/logs``: entries under ``list`` (or the batch query's other
    names, or a bare list), ``total`` when given; a null ``data`` is an empty page.
    """
    total: int | None = None
    rows: object = ()
    if isinstance(data, list):
        rows = data
    elif data is not None:
        mapping = _as_mapping(data, "the points log's data")
        rows = next((mapping[k] for k in _LOG_ROW_KEYS if _present(mapping.get(k))), ())
        if _present(mapping.get("total")):
            total = max(0, _int(mapping["total"]))
    if not isinstance(rows, (list, tuple)):
        msg = f"the points log's entries should be a list, got {type(rows).__name__}"
        raise WireFormatError(msg)
    entries: list[PointsEntry] = []
    try:
        entries.extend(converter.structure(row, PointsEntry) for row in rows)
    except (WireFormatError, ValueError, TypeError) as exc:
        msg = f"entry {len(entries)} of the page: {exc}"
        raise WireFormatError(msg) from exc
    return PointsLogPage(entries=tuple(entries), total=total, page=page, limit=limit)
