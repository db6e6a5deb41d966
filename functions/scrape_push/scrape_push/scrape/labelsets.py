"""The final labels of a target's new plain series, in bulk: one plan per label-set shape.

A plain label set (``a="1",b=""``, the text between the braces: no escapes, ``parse.NewSeries``)
of one shape (``parse.shape_labels``) always becomes its target's labels the same way: which of
its values are kept, under which names, and where the target's labels go among them. That is
its ``ShapePlan``, made once per shape and target; a series is then a pick of its values. The
plan's layout depends only on the target's label names (``labels.LabelFinisher.schema``), so it
is made once per shape for all the targets that share them (a fleet's targets do) and each
target fills in its values. When a plan keeps each exposed label under its name (no
``exported_`` label), a series' final labels are its interned pairs (remembered per label-set
text for the other targets that expose it) followed by the target's, picked in one go:
``paired_labels``, which the compiled kernel ``_labels`` does in one pass where it is built.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import repeat
from operator import add, call, itemgetter
from typing import Any, Final, NamedTuple

from .. import native
from ..labels import LabelFinisher, Schema, shape_plan
from ..model import Labels
from ..parse import plain_values, shape_labels

_KERNEL: Final = native.load("labels", 1)
"""``paired``: ``paired_labels`` in one C pass (``native/labels.c``, docs/native.md), or ``None``."""

LABEL_SETS_MAX: Final = 16_384
"""At most this many plain label sets' pairs are remembered (``Interned.label_sets``): about
4 MB, for the distinct label sets of the targets that one cycle meets cold (a fleet of one
exporter's targets has as many as one target has series)."""

TEMPLATES_MAX: Final = 2_048
"""At most this many plan layouts are shared (``Interned.templates``): about 1 KB each (2 MB), for
the label-set shapes of the label schemas one cycle meets cold (a node_exporter's 27 shapes, per
schema; a job's targets have one). Past it, each target makes its own."""

Pairs = tuple[tuple[str, str], ...]


class ShapePlan(NamedTuple):
    """How one target builds the final labels of plain label sets of one shape (``labels.Plan``).

    When the target renames an exposed label (``exported_``): ``names``, ``pick`` of their values
    from the exposed values followed by the ``constants`` (with one more item, so that it returns
    a tuple), and nothing else. Otherwise: ``pick`` of the kept labels' values (those not empty)
    from the exposed values, their names (``kept``), the constants' interned ``pairs``, and
    ``pick_pairs`` of the final pairs from the kept labels' pairs followed by those (a tuple,
    whatever their number); the same picks as positions (``kept_at``, ``final_at``: the kernel's).
    """

    names: tuple[str, ...] | None
    pick: itemgetter[Any]
    constants: list[str] | None
    kept: tuple[str, ...] | None
    pairs: Pairs
    pick_pairs: itemgetter[Any] | None
    kept_at: tuple[int, ...] = ()
    final_at: tuple[int, ...] = ()


class Template(NamedTuple):
    """A ``ShapePlan`` of one label schema and shape without its target's values: the plan with
    no ``constants`` and no ``pairs``, the constants' label names (in a plan without renamed
    labels) and where each constant comes from (``LabelFinisher.values``)."""

    plan: ShapePlan
    names: tuple[str, ...]
    sources: tuple[int, ...]


_NAMES, _PICK, _CONSTANTS = itemgetter(0), itemgetter(1), itemgetter(2)
_KEPT, _PAIRS, _PICK_PAIRS = itemgetter(3), itemgetter(4), itemgetter(5)


class Interned(dict[Any, Any]):
    """One object per distinct value (metric names, label pairs) among a target's series, so
    that its series share them: a node_exporter's 1,000 series hold a few hundred distinct label
    pairs, and each would otherwise have its own copy of every pair and name (docs/scaling.md,
    "What a cached series holds"). A hit is a C-level dict lookup."""

    __slots__ = ("generation", "label_sets", "templates")

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        """How many times the table was emptied: plans that hold its pairs are made again."""
        self.label_sets: dict[str, Pairs] = {}
        """The interned pairs of plain label sets (the text between the braces), those of its
        kept labels (not empty) in order, so that the series of another target with the same
        set (a fleet's targets expose the same series) take them with one lookup. At most
        ``LABEL_SETS_MAX``; emptied after each cycle (``CommonValues.bound``)."""
        self.templates: dict[tuple[Schema, str], Template] = {}
        """The plan layouts of the label-set shapes met, by label schema and shape, which the
        targets of a schema share. At most ``TEMPLATES_MAX``; emptied with ``label_sets``."""

    def __missing__(self, key: Any) -> Any:
        self[key] = key
        return key

    def clear(self) -> None:
        super().clear()
        self.forget_sets()
        self.generation += 1

    def forget_sets(self) -> None:
        """Let the label sets and plan layouts go (what one cycle shares)."""
        self.label_sets.clear()
        self.templates.clear()


def shape_plans(shapes: Iterable[str], finish: LabelFinisher, interned: Interned) -> dict[str, ShapePlan]:
    """The ``ShapePlan`` of each label-set shape for ``finish``'s target: its schema's layout
    (made now if no target of the schema made it this cycle) with the target's values (their
    interned pairs made once for the shapes that place them alike: most do)."""
    made: dict[str, ShapePlan] = {}
    bound: dict[tuple[tuple[str, ...], tuple[int, ...]], Pairs] = {}
    schema = finish.schema
    for shape in shapes:
        template = None if schema is None else interned.templates.get((schema, shape))
        if template is None:
            labels = shape_labels(shape)
            template = _template(labels, shape_plan(finish if schema is None else finish.blank(), labels))
            if schema is not None and len(interned.templates) < TEMPLATES_MAX:
                interned.templates[schema, shape] = template
        layout, names, sources = template
        constants = list(map(finish.values.__getitem__, sources))
        if layout.pick_pairs is None:
            made[shape] = ShapePlan(layout.names, layout.pick, constants, None, (), None)
            continue
        pairs = bound.get((names, sources))
        if pairs is None:
            pairs = bound[names, sources] = tuple(
                map(interned.__getitem__, zip(names, constants, strict=True))
            )
        kept, pick_pairs, kept_at, final_at = layout.kept, layout.pick_pairs, layout.kept_at, layout.final_at
        made[shape] = ShapePlan(None, layout.pick, None, kept, pairs, pick_pairs, kept_at, final_at)
    return made


def _template(labels: list[tuple[str, bool]], made: tuple[tuple[str, ...], list[int], list[int]]) -> Template:
    """The ``Template`` of a shape of ``labels`` from its ``labels.Plan``."""
    names, pick, sources = made
    count = len(labels)
    exposed = [(name, index) for name, index in zip(names, pick, strict=True) if index < count]
    kept = [index for index, (_, keep) in enumerate(labels) if keep]
    if sorted(index for _, index in exposed) != kept or any(labels[i][0] != name for name, i in exposed):
        getter = itemgetter(*pick, 0) if pick else itemgetter(slice(0, 0))
        return Template(ShapePlan(names, getter, None, None, (), None), (), tuple(sources))  # exported_
    constant_names = tuple(name for name, index in zip(names, pick, strict=True) if index >= count)
    # the final pairs are picked from the kept labels' pairs, then the constants'
    at = {index: place for place, index in enumerate(kept)}
    final = [at[index] if index < count else len(kept) + index - count for index in pick]
    kept_names = tuple(labels[index][0] for index in kept)
    layout = ShapePlan(
        None, _tuple_getter(kept), None, kept_names, (), _tuple_getter(final), tuple(kept), tuple(final)
    )
    return Template(layout, constant_names, tuple(sources))


def final_labels(label_sets: list[str], plans: list[ShapePlan], interned: Interned) -> list[Labels]:
    """The final labels of plain label sets, each by its plan."""
    if all(map(_PICK_PAIRS, plans)):
        return _paired(label_sets, plans, interned)
    paired = [index for index, plan in enumerate(plans) if plan.pick_pairs is not None]
    if not paired:
        return renamed_labels(label_sets, plans, interned)
    final: list[Labels] = [()] * len(plans)
    renamed = [index for index, plan in enumerate(plans) if plan.pick_pairs is None]
    for indices, build in ((paired, _paired), (renamed, renamed_labels)):
        built = build([label_sets[i] for i in indices], [plans[i] for i in indices], interned)
        for index, labels in zip(indices, built, strict=True):
            final[index] = labels
    return final


def _paired(label_sets: list[str], plans: list[ShapePlan], interned: Interned) -> list[Labels]:
    """``paired_labels``, by the kernel where it is built and takes these label sets."""
    if _KERNEL is not None:
        found: list[Labels] | None = _KERNEL.paired(
            label_sets, plans, interned, interned.label_sets, LABEL_SETS_MAX
        )
        if found is not None:
            return found
    return paired_labels(label_sets, plans, interned)


def paired_labels(label_sets: list[str], plans: list[ShapePlan], interned: Interned) -> list[Labels]:
    """The final labels of plain label sets whose plans keep each exposed label's name: a pick
    of the set's interned pairs followed by the target's (the kernel's reference)."""
    found = interned.label_sets
    exposed: list[Any] = list(map(found.get, label_sets))
    if None in exposed:
        new = [index for index, pairs in enumerate(exposed) if pairs is None]
        made = exposed_pairs([label_sets[i] for i in new], [plans[i] for i in new], interned)
        for index, pairs in zip(new, made, strict=True):
            exposed[index] = pairs
    return list(map(call, map(_PICK_PAIRS, plans), map(add, exposed, map(_PAIRS, plans))))


def exposed_pairs(label_sets: list[str], plans: list[ShapePlan], interned: Interned) -> list[Pairs]:
    """The interned pairs of plain label sets, those of kept labels in order, remembered
    (``Interned.label_sets``)."""
    kept_values = map(call, map(_PICK, plans), plain_values(label_sets))
    pairs = list(map(tuple, map(map, repeat(interned.__getitem__), map(zip, map(_KEPT, plans), kept_values))))
    if len(interned.label_sets) + len(label_sets) <= LABEL_SETS_MAX:
        interned.label_sets.update(zip(label_sets, pairs, strict=True))
    return pairs


def renamed_labels(label_sets: list[str], plans: list[ShapePlan], interned: Interned) -> list[Labels]:
    """The final labels of plain label sets whose plans rename an exposed label: values picked,
    zipped with the final names, each pair interned."""
    pairs = map(
        zip,
        map(_NAMES, plans),
        map(call, map(_PICK, plans), map(add, plain_values(label_sets), map(_CONSTANTS, plans))),
    )
    return list(map(tuple, map(map, repeat(interned.__getitem__), pairs)))


def _tuple_getter(positions: list[int]) -> itemgetter[Any]:
    """A picker of the items at ``positions`` that returns a tuple, whatever their number."""
    if len(positions) > 1:
        return itemgetter(*positions)
    return itemgetter(slice(positions[0], positions[0] + 1) if positions else slice(0, 0))
