"""New plain series' final labels (``scrape.labelsets``): the plans shared by a label schema, and
the compiled kernel ``_labels`` against its reference ``paired_labels``, function by function and
through whole scrapes."""

from __future__ import annotations

import copy
import sys
import tracemalloc
from collections.abc import Callable
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrape_push.labels import LabelFinisher
from scrape_push.model import Labels
from scrape_push.parse import grammar, shape_labels
from scrape_push.scrape import labelsets
from scrape_push.scrape.labelsets import Interned, ShapePlan, final_labels, paired_labels, shape_plans

from tests.support.native import compiled

TEXT = "text/plain; version=0.0.4"
QUICK = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = st.sampled_from(["a", "b", "cpu", "job", "instance", "exported_job", "region", "é", "x_1", "le"])
VALUES = st.sampled_from(["", "1", "x", "\x000", "\x010", "\x011", "é", "a b", "=", ",", "{}"]) | st.text(
    st.characters(blacklist_characters='"\\\n', blacklist_categories=["Cs"]), max_size=12
)
"""Values a plain label set may hold (no quote, backslash or line break), placeholders' look-alikes
and unicode among them."""


def plan(shape: str, finish: LabelFinisher, interned: Interned) -> ShapePlan:
    return shape_plans([shape], finish, interned)[shape]


def kernel() -> ModuleType:
    return compiled("labels", 1)


@st.composite
def finishers(draw: st.DrawFn) -> LabelFinisher:
    """A target's finisher: label names that clash with exposed ones, empty values, repeated
    names (no schema), values told apart only by identity."""
    pairs = st.lists(st.tuples(NAMES, VALUES), max_size=4)
    labels = draw(pairs)
    if draw(st.booleans()):
        labels = sorted(dict(labels).items())
    return LabelFinisher(tuple(labels), tuple(draw(pairs)), draw(st.booleans()))


@st.composite
def label_sets(draw: st.DrawFn) -> tuple[str, Labels]:
    """A plain label set as the parser hands it on (no kept name twice, any empty ones, perhaps a
    trailing comma) and its pairs as exposed, in order."""
    pairs = draw(st.lists(st.tuples(NAMES, VALUES), max_size=6))
    kept = [name for name, value in pairs if value]
    if len(set(kept)) < len(kept):
        pairs = list(dict(pairs).items())
    text = ",".join(f'{name}="{value}"' for name, value in pairs)
    return text + (draw(st.sampled_from(["", ","])) if pairs else ""), tuple(pairs)


def label_set_texts() -> st.SearchStrategy[str]:
    return label_sets().map(lambda drawn: drawn[0])


def shape_of(text: str) -> str:
    """A label set's shape, as the parser makes it (``parse.parser._label_sets``)."""
    return grammar.PLAIN_VALUE.sub("=", text)


@QUICK
@given(st.lists(finishers(), min_size=1, max_size=3), st.lists(label_sets(), min_size=1, max_size=8))
def test_the_plans_of_a_schema_shared_by_its_targets_give_each_what_its_finisher_gives(
    finishes: list[LabelFinisher], drawn: list[tuple[str, Labels]]
) -> None:
    interned = Interned()
    texts = [text for text, _ in drawn]
    for finish in finishes:  # each later target of a schema takes the first one's layout
        got = final_labels(texts, [plan(shape_of(text), finish, interned) for text in texts], interned)
        assert got == [finish(kept(text, pairs)) for text, pairs in drawn]


def kept(text: str, pairs: Labels) -> list[tuple[str, str]]:
    """The pairs of a plain label set that its series keeps (``parse.shape_labels``)."""
    return [pair for pair, (_, keep) in zip(pairs, shape_labels(shape_of(text)), strict=True) if keep]


def test_a_schema_is_its_names_and_honor_labels_and_none_where_a_name_repeats() -> None:
    one, other = LabelFinisher((("job", "a"),), (("r", "x"),)), LabelFinisher((("job", "b"),), (("r", "y"),))
    assert one.schema == other.schema == (("job",), ("r",), False)
    assert LabelFinisher((("job", "a"), ("job", "b"))).schema is None
    assert LabelFinisher((("job", "a"),), honor_labels=True).schema != one.schema


def test_a_layout_is_made_once_per_schema_and_shape() -> None:
    interned = Interned()
    for port in range(3):
        plan("cpu=,mode=", LabelFinisher((("instance", f"h:{port}"), ("job", "node"))), interned)
    assert list(interned.templates) == [((("instance", "job"), (), False), "cpu=,mode=")]
    interned.forget_sets()
    assert interned.templates == {}


def plans_for(texts: list[str], finish: LabelFinisher, interned: Interned) -> list[ShapePlan]:
    return [plan(shape_of(text), finish, interned) for text in texts]


def state(interned: Interned) -> tuple[object, ...]:
    return dict(interned), dict(interned.label_sets)


def run(
    paired: Callable[..., list[Labels] | None], texts: list[str], plans: list[ShapePlan], interned: Interned
) -> tuple[list[Labels] | type[Exception] | None, tuple[object, ...]]:
    found: list[Labels] | type[Exception] | None
    try:
        found = paired(texts, plans, interned)
    except (IndexError, TypeError) as exc:
        found = type(exc)
    return found, state(interned)


def compare(texts: list[str], plans: list[ShapePlan], interned: Interned, *, fast: bool) -> None:
    """The kernel and the reference on copies of one state: the same labels (values, types, the
    interned pairs) and the same state after; or, off its fast path, None with the remembered
    label sets untouched (the reference then does the call)."""
    ours = kernel()
    other = copy.deepcopy(interned)
    other.label_sets = copy.deepcopy(interned.label_sets)
    remembered = dict(other.label_sets)
    expected, expected_state = run(paired_labels, texts, plans, interned)
    found, found_state = run(
        lambda *args: ours.paired(*args, args[2].label_sets, labelsets.LABEL_SETS_MAX), texts, plans, other
    )
    if found is None:
        assert not fast, "the kernel left a fast-path input to Python"
        assert other.label_sets == remembered
        return
    assert found == expected and found_state == expected_state
    assert isinstance(found, list)
    assert all(type(labels) is tuple for labels in found)
    assert all(type(pair) is tuple and other[pair] is pair for labels in found for pair in labels)
    assert all(type(item) is str for labels in found for pair in labels for item in pair)


@pytest.mark.native
@QUICK
@given(finishers(), st.lists(label_set_texts(), max_size=12), st.integers(0, 12))
def test_the_kernel_builds_what_the_reference_builds(
    finish: LabelFinisher, texts: list[str], known: int
) -> None:
    interned = Interned()
    plans = plans_for(texts, finish, interned)
    fast = [at for at, found in enumerate(plans) if found.pick_pairs is not None]
    texts, plans = [texts[i] for i in fast], [plans[i] for i in fast]
    paired_labels(texts[:known], plans[:known], interned)  # some label sets remembered already
    compare(texts, plans, interned, fast=True)


@pytest.mark.native
@QUICK
@given(finishers(), st.lists(st.tuples(label_set_texts(), st.text('a="=,é\x00', max_size=30)), max_size=8))
def test_the_kernel_leaves_a_label_set_that_its_plan_does_not_fit_to_the_reference(
    finish: LabelFinisher, cases: list[tuple[str, str]]
) -> None:
    interned = Interned()
    plans = [found for found in plans_for([text for text, _ in cases], finish, interned) if found.pick_pairs]
    hostile = [text for _, text in cases][: len(plans)]  # any text, quotes unbalanced or missing
    compare(hostile, plans, interned, fast=False)


HOSTILE = {
    "unterminated value": 'a="1',
    "no values": "a=,b=",
    "fewer values": 'a="1"',
    "more values": 'a="1",b="2",c="3"',
    "quotes only": '""""""',
    "empty": "",
    "long": 'a="' + "x" * 100_000 + '",b="' + "é" * 50_000 + '"',
    "many labels": ",".join(f'l{n}="{n}"' for n in range(2000)),
}


@pytest.mark.native
@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hand_picked_hostile_label_sets(text: str) -> None:
    finish = finisher_of_one_label()
    for shape in ("a=,b=", "a=", 'a=,b=""', "", ",".join(f"l{n}=" for n in range(2000))):
        interned = Interned()
        compare([text], [plan(shape, finish, interned)], interned, fast=False)


def finisher_of_one_label() -> LabelFinisher:
    return LabelFinisher((("instance", "h:1"),), (("region", "eu"),))


@pytest.mark.native
def test_the_kernel_takes_the_fleet_s_label_sets_and_remembers_them_as_the_reference_does() -> None:
    texts = [f'cpu="{n % 8}",mode="{("idle", "user")[n % 2]}"' for n in range(40)] + ['device="",x="é"'] * 3
    interned = Interned()
    plans = plans_for(texts, finish := finisher_of_one_label(), interned)
    compare(texts, plans, interned, fast=True)
    with pytest.MonkeyPatch.context() as patched:  # a call whose label sets do not all fit: none kept
        patched.setattr(labelsets, "LABEL_SETS_MAX", 10)
        compare(texts, plans_for(texts, finish, Interned()), Interned(), fast=True)


@pytest.mark.native
@pytest.mark.parametrize(
    "arguments",
    [
        ("not a list", [], Interned(), {}, 1),
        ([1], [None], Interned(), {}, 1),
        (['a="1"'], [("too", "short")], Interned(), {}, 1),
        (['a="1"'], [], Interned(), {}, 1),
        ([], [], [], {}, 1),
        ([], [], Interned(), {}, -1),
        ([], [], Interned(), {}, 10**30),
    ],
)
def test_the_kernel_says_none_to_arguments_it_does_not_know(arguments: tuple[object, ...]) -> None:
    assert kernel().paired(*arguments) is None


@pytest.mark.native
def test_the_kernel_leaks_no_reference_and_no_memory() -> None:
    ours = kernel()
    texts = [f'cpu="{n}",mode="idle",x=""' for n in range(200)]
    interned = Interned()
    plans = plans_for(texts, finisher_of_one_label(), interned)
    bad = [HOSTILE["unterminated value"]], [plan("a=,b=", finisher_of_one_label(), interned)]
    ours.paired(texts, plans, interned, interned.label_sets, 0)  # every pair interned: no growth later
    fields = [field for field in (*plans[0], *bad[1][0]) if field is not None]
    watched = [*texts, *plans, *fields, *bad[0], *bad[1], interned["cpu", "7"], interned["region", "eu"]]
    counts = list(map(sys.getrefcount, watched))
    tracemalloc.start()
    try:
        ours.paired(texts, plans, interned, interned.label_sets, 0)
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(300):
            ours.paired(texts, plans, interned, interned.label_sets, 0)
            assert ours.paired(*bad, interned, {}, 10) is None
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 10_000  # 300 calls of 200 label sets each: 60,000 lists of pairs let go
    assert list(map(sys.getrefcount, watched)) == counts
