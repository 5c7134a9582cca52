"""quick_init: the step's frozen records are made faster and stay what dataclasses make."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

import simulator  # noqa: F401 - imports every module whose classes use quick_init
from simulator.engines import step  # noqa: F401
from simulator.frozen import QUICK, quick_init


def _required(cls) -> list[dataclasses.Field]:
    return [
        f for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]  # fmt: skip


def _made_both_ways(cls, **values):
    quick = cls(**values)
    reference = object.__new__(cls)
    cls.__dataclass_init__(reference, **values)
    return quick, reference


def test_the_step_records_use_it():
    names = {cls.__name__ for cls in QUICK}
    assert {"StepView", "StepDraws", "StepTally", "StepRecord", "FirmRecord"} <= names


@pytest.mark.parametrize("cls", QUICK, ids=lambda cls: cls.__name__)
def test_quick_init_stores_what_the_dataclass_init_stores(cls):
    """Every field given (distinct sentinels), then only the required ones (defaults and
    default factories filled in): the same values under the same names as the dataclass's
    own ``__init__``; the instance is still frozen and ``replace`` still works."""
    every = {f.name: object() for f in dataclasses.fields(cls)}
    quick, reference = _made_both_ways(cls, **every)
    assert vars(quick) == vars(reference)
    assert all(vars(quick)[name] is value for name, value in every.items())
    required = {f.name: object() for f in _required(cls)}
    quick, reference = _made_both_ways(cls, **required)
    assert vars(quick).keys() == vars(reference).keys()
    for name, value in vars(reference).items():
        assert vars(quick)[name] == value or vars(quick)[name] is value
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(quick, dataclasses.fields(cls)[0].name, 1)
    moved = dataclasses.replace(quick, **{dataclasses.fields(cls)[0].name: 7})
    assert getattr(moved, dataclasses.fields(cls)[0].name) == 7


@quick_init
@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int = 2
    tags: list = dataclasses.field(default_factory=list)


def test_defaults_factories_equality_and_pickling():
    a, b = Point(1), Point(1)
    assert a == b and a.y == 2 and a.tags == [] and a.tags is not b.tags
    assert Point(1, 3, ["t"]) == Point(x=1, y=3, tags=["t"])
    assert hash(Point(1, 3, ())) == hash(Point(1, 3, ()))
    assert pickle.loads(pickle.dumps(Point(4, 5, [6]))) == Point(4, 5, [6])
    assert repr(Point(1)) == "Point(x=1, y=2, tags=[])"
    with pytest.raises(TypeError):
        Point()  # x is required, as in the dataclass


def test_only_plain_frozen_dataclasses_qualify():
    @dataclasses.dataclass
    class Mutable:
        x: int

    @dataclasses.dataclass(frozen=True)
    class Checked:
        x: int

        def __post_init__(self):
            pass

    for cls in (Mutable, Checked, int):
        with pytest.raises(TypeError):
            quick_init(cls)
