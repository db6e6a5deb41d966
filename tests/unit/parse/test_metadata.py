"""Runs of comment lines remembered in the families table (``parse.Families``, issue 20).

A run the table read before (in this target's last scrape or another target's) is one lookup,
and must read exactly as it reads the first time: under another current block, in the other
dialect, in strict mode, in a chunk that is not UTF-8. Work is counted (comment lines read one
by one), never timed.
"""

from __future__ import annotations

from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrape_push.model import Family
from scrape_push.parse import TEXT as TEXT_FORMAT
from scrape_push.parse import Families, ParseError, dialects
from scrape_push.parse.metadata import RUN_OVERHEAD, Metadata
from scrape_push.scrape import SeriesCache
from scrape_push.scrape.entries import CommonValues

from tests.support.expositions import expositions, mutated
from tests.support.parsing import parse_chunks

TEXT = "text/plain; version=0.0.4"
OM = "application/openmetrics-text; version=1.0.0"

TEXT_BYTES = 67
"""What the chunk of ``test_comment_lines_are_not_counted_as_kept_text_when_remembered`` keeps,
as the parse counted it before runs were remembered."""

Outcome = list[tuple[str, Family]] | tuple[str, int | None, str]


def outcome(data: bytes, content_type: str, cache: SeriesCache, strict: bool = False) -> Outcome:
    """Each sample's name and family, or the error."""
    try:
        return [
            (sample.name, sample.family)
            for chunk in parse_chunks(data, content_type, cache, strict=strict)
            for sample in chunk  # type: ignore[union-attr]
        ]
    except ParseError as exc:
        return ("error", exc.line, exc.reason)


def after(
    warm_with: list[tuple[bytes, str]], data: bytes, content_type: str, strict: bool = False
) -> Outcome:
    """``data`` read by a new target of a scrape stage whose other targets read ``warm_with``."""
    common = CommonValues()
    for index, (other, other_type) in enumerate(warm_with):
        outcome(other, other_type, SeriesCache(common=common), strict=index % 2 == 1)
    return outcome(data, content_type, SeriesCache(common=common), strict)


def cold(data: bytes, content_type: str, strict: bool = False) -> Outcome:
    return outcome(data, content_type, SeriesCache(), strict)


def test_a_run_read_before_costs_no_comment_line_and_reads_alike() -> None:
    data = b"# HELP a What a is.\n# TYPE a gauge\na 1\n# HELP b What b is.\n# TYPE b counter\nb_total 2\n"
    common = CommonValues()
    first = outcome(data, TEXT, SeriesCache(common=common))
    with patch.object(Metadata, "comment", autospec=True, side_effect=Metadata.comment) as reader:
        again = outcome(data, TEXT, SeriesCache(common=common))  # another target, same lines
        assert reader.call_count == 0
        also = outcome(data, TEXT, SeriesCache())  # a table of its own: read line by line
        assert reader.call_count == 4
    assert first == again == also == cold(data, TEXT)
    assert first[1][1] == Family("b", "counter", "What b is.")


def test_the_same_run_under_a_block_of_its_family_keeps_what_that_block_set() -> None:
    # ``# TYPE a gauge`` alone reads to ``a`` untyped-then-gauge, without help; after a block of
    # ``a`` with a help text it keeps the help
    warm = b"# TYPE a gauge\na 1\n"
    data = b'# HELP a old\na{x="1"} 1\n# TYPE a gauge\na{x="2"} 2\n'
    read = after([(warm, TEXT)], data, TEXT)
    assert read == cold(data, TEXT)
    assert read[1] == ("a", Family("a", "gauge", "old"))
    read = after([(data, TEXT)], warm, TEXT)  # nor is what it read under that block remembered
    assert read == cold(warm, TEXT) == [("a", Family("a", "gauge"))]


def test_the_same_run_in_the_other_dialect_reads_as_that_dialect() -> None:
    run = b'# HELP a say \\"hi\\"\n'
    text, openmetrics = run + b"a 1\n", run + b"a 1\n# EOF\n"
    read = after([(text, TEXT)], openmetrics, OM)
    assert read == cold(openmetrics, OM) == [("a", Family("a", "unknown", 'say "hi"'))]
    read = after([(openmetrics, OM)], text, TEXT)
    assert read == cold(text, TEXT) == [("a", Family("a", "untyped", 'say \\"hi\\"'))]


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (
            b"# TYPE a counter\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\na_x 1\n",
            5,
            "TYPE gauge for 'a' conflicts with its earlier TYPE counter",
        ),
        (
            b"a 1\n# TYPE a counter\na_total 1\n",
            2,
            "TYPE line for 'a' comes after its sample 'a' (read as untyped)",
        ),
    ],
    ids=["TYPE conflict", "TYPE after its sample"],
)
def test_a_remembered_type_line_is_checked_again_in_strict_mode(data: bytes, line: int, reason: str) -> None:
    warm = [(b"# TYPE a gauge\na 1\n", TEXT), (b"# TYPE b gauge\nb 1\n# TYPE a counter\na 1\n", TEXT)]
    assert after(warm, data, TEXT, strict=True) == cold(data, TEXT, strict=True) == ("error", line, reason)
    assert after(warm, data, TEXT) == cold(data, TEXT)  # Prometheus 2.42 accepts both


def test_a_run_that_failed_is_not_remembered() -> None:
    data = b"# HELP a x\n# TYPE a countr\na 1\n"
    common = CommonValues()
    for _ in range(2):
        assert outcome(data, TEXT, SeriesCache(common=common)) == ("error", 2, "invalid metric type 'countr'")
    assert common.families.runs == {}


def test_comment_lines_are_not_counted_as_kept_text_when_remembered() -> None:
    data = b"# HELP a What a is.\n# TYPE a gauge\n" + b"".join(b'a{n="%d"} 1\n' % n for n in range(3))
    families = Families()
    sizes = [next(TEXT_FORMAT.chunks(data, {}, families)).text_bytes for _ in range(2)]
    assert families.runs  # the second parse remembered the run
    assert sizes == [TEXT_BYTES, TEXT_BYTES]


def test_invalid_utf8_chunks_read_their_comment_lines_one_by_one() -> None:
    warm = b"# HELP a x\n# TYPE a gauge\na 1\n"
    data = b"# HELP a x\n# TYPE a gauge\na 1\n# HELP b caf\xe9\nb 1\n"
    assert (
        after([(warm, TEXT)], data, TEXT) == cold(data, TEXT) == ("error", 4, "HELP line is not valid UTF-8")
    )


def test_remembered_runs_stop_at_their_limit_and_are_forgotten_when_bounded() -> None:
    def run(scrape: int) -> str:  # a run whose text changes at every scrape (a plain comment in it)
        return f"# HELP a x\n# scrape {scrape:030}\n# TYPE a gauge"

    families = Families(limit=10 * (RUN_OVERHEAD + len(run(0))))
    for scrape in range(50):
        chunk = next(TEXT_FORMAT.chunks(f"{run(scrape)}\na 1\n".encode(), {}, families))
        assert chunk.plain.families == [Family("a", "gauge", "x")]
    assert len(families.runs[dialects.TEXT.name]) == 10
    assert families.held == families.limit and len(families) == 2
    families.bound(families.limit)
    assert families.runs == {} and families.held == 0 and len(families) == 2
    next(TEXT_FORMAT.chunks(f"{run(0)}\na 1\n".encode(), {}, families))
    assert len(families.runs[dialects.TEXT.name]) == 1


SHARED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.once  # long, interpreter-independent: not run again on 3.13
@SHARED
@given(st.data(), st.booleans(), st.booleans())
def test_fuzzed_expositions_read_alike_after_other_targets_bodies(
    data: st.DataObject, openmetrics: bool, strict: bool
) -> None:
    base = data.draw(expositions(openmetrics), label="base")
    others = [
        (data.draw(mutated(base), label="other"), data.draw(st.sampled_from([TEXT, OM]), label="type"))
        for _ in range(3)
    ]
    exposition = data.draw(mutated(base), label="exposition")
    content_type = OM if openmetrics else TEXT
    assert after([(base, content_type), *others], exposition, content_type, strict) == cold(
        exposition, content_type, strict
    )


# -- the sample names of each block, kept per family ----------------------------------------------


def test_a_block_s_sample_names_are_made_once_per_family_and_by_identity() -> None:
    families = Families()
    histogram = Family("rpc", "histogram")
    names = families.members(histogram)
    assert names == dict.fromkeys(["rpc_bucket", "rpc_sum", "rpc_count", "rpc_created"], histogram)
    assert families.members(histogram) is names
    equal = Family("rpc", "histogram")  # another block: its names map to it
    assert families.members(equal) is not names and set(families.members(equal).values()) == {equal}
    assert families.members(None) == {}
    families.clear()
    assert families.members(histogram) is not names


def test_the_blocks_of_a_run_take_the_names_made_once_and_by_identity() -> None:
    families = Families()
    histogram, gauge = Family("rpc", "histogram"), Family("g", "gauge")
    known = families.members(histogram)
    blocks: list[Family | None] = [None, histogram, histogram]
    assert families.members_of(blocks) == [{}, known, known]
    assert all(got is want for got, want in zip(families.members_of(blocks)[1:], [known, known], strict=True))
    equal = Family("rpc", "histogram")  # another block, not in the memo: made one by one
    made = families.members_of([histogram, equal, gauge, None])
    assert made[0] is known and set(made[1].values()) == {equal} and made[2] == {"g": gauge} and made[3] == {}
    assert families.members_of([gauge])[0] is made[2]  # now remembered
    with patch("scrape_push.parse.metadata.MEMBERS_MAX", len(families.memo)):
        again = Family("full", "gauge")
        assert families.members_of([again, again]) == [{"full": again}] * 2  # not remembered


def test_the_sample_names_kept_are_bounded() -> None:
    families = Families()
    with patch("scrape_push.parse.metadata.MEMBERS_MAX", 3):
        kept = [Family(f"f{n}", "gauge") for n in range(5)]
        for family in kept:
            assert families.members(family) == {family.name: family}
    assert len(families.memo) == 3
    assert families.copy().memo == families.memo
