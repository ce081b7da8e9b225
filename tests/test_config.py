"""The session's settings: together in one module, immutable, hashable, checked when made."""

from __future__ import annotations

import math
import pickle

import attrs
import pytest

import suno_async
from suno_async import ConfigurationError, PollPolicy, RetryPolicy, TaskKind, Timeouts

POLICIES = [Timeouts, RetryPolicy, PollPolicy]


@pytest.mark.parametrize("cls", POLICIES)
def test_policies_live_together(cls: type) -> None:
    """Every policy is defined in suno_async._config and exported by the package."""
    assert cls.__module__ == "suno_async._config"
    assert getattr(suno_async, cls.__name__) is cls


@pytest.mark.parametrize("cls", POLICIES)
def test_policies_are_hashable_immutable_and_picklable(cls: type) -> None:
    """Defaults hash, compare equal when rebuilt, refuse changes, and survive pickling."""
    policy = cls()
    assert hash(policy) == hash(cls())
    assert {policy: 1}[cls()] == 1
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.__setattr__(attrs.fields(cls)[0].name, 1)
    assert pickle.loads(pickle.dumps(policy)) == policy  # noqa: S301  (our own bytes)


def test_first_poll_is_read_only_and_partial() -> None:
    """A partial first_poll keeps the other kinds' defaults; the result cannot be changed."""
    policy = PollPolicy(first_poll={TaskKind.SONG: 1.0})
    assert policy.first_poll[TaskKind.SONG] == 1.0
    assert policy.first_poll[TaskKind.VIDEO] == PollPolicy().first_poll[TaskKind.VIDEO]
    assert set(policy.first_poll) == set(TaskKind)
    with pytest.raises(TypeError):
        policy.first_poll[TaskKind.SONG] = 2.0  # type: ignore[index]
    assert policy == PollPolicy(first_poll={**PollPolicy().first_poll, TaskKind.SONG: 1.0})
    assert hash(policy) != hash(PollPolicy())
    assert dict(policy.first_poll) == {**PollPolicy().first_poll, TaskKind.SONG: 1.0}


def test_a_mutated_source_dict_changes_nothing() -> None:
    """The policy copies the mapping it is given: changing that dict later changes nothing."""
    given = {TaskKind.SONG: 1.0}
    policy = PollPolicy(first_poll=given)
    given[TaskKind.SONG] = 99.0
    assert policy.first_poll[TaskKind.SONG] == 1.0


def test_evolve_makes_a_checked_copy() -> None:
    """attrs.evolve changes one field and checks it like the constructor does."""
    policy = attrs.evolve(RetryPolicy(), attempts=2)
    assert policy.attempts == 2
    with pytest.raises(ConfigurationError, match=r"RetryPolicy\.attempts"):
        attrs.evolve(policy, attempts=0)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Timeouts(total=-1.0), "Timeouts.total"),
        (lambda: Timeouts(total=math.nan), "Timeouts.total"),
        (lambda: Timeouts(read=0), "Timeouts.read"),
        (lambda: RetryPolicy(budget=math.inf * 0), "RetryPolicy.budget"),
        (lambda: PollPolicy(batch_size=1.5), "PollPolicy.batch_size"),  # type: ignore[arg-type]
        (lambda: PollPolicy(first_poll={"song": 1.0}), "PollPolicy.first_poll"),  # type: ignore[dict-item]
        (lambda: PollPolicy(first_poll=[1.0]), "PollPolicy.first_poll"),  # type: ignore[arg-type]
    ],
)
def test_every_bad_setting_is_one_error_type(build: object, field: str) -> None:
    """Each bad setting raises ConfigurationError whose message starts with its name."""
    with pytest.raises(ConfigurationError) as caught:
        build()  # type: ignore[operator]
    assert str(caught.value).startswith(field)
