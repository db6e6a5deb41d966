from __future__ import annotations

import pytest
from scrape_push.labels import finisher, merge_labels, synthetic
from scrape_push.model import Labels
from scrape_push.targets import Target

TARGET: Labels = (("instance", "h:1"), ("job", "api"))

CASES = {
    "no conflict": ((("code", "200"),), False, (("code", "200"), ("instance", "h:1"), ("job", "api"))),
    "conflict kept as exported_": (
        (("job", "batch"),),
        False,
        (("exported_job", "batch"), ("instance", "h:1"), ("job", "api")),
    ),
    "exported_ taken too": (
        (("exported_job", "x"), ("job", "y")),
        False,
        (("exported_exported_job", "y"), ("exported_job", "x"), ("instance", "h:1"), ("job", "api")),
    ),
    "honor_labels keeps exposed value": ((("job", "batch"),), True, (("instance", "h:1"), ("job", "batch"))),
}


@pytest.mark.parametrize("exposed,honor,expected", CASES.values(), ids=CASES.keys())
def test_merge_labels_follows_prometheus(exposed: Labels, honor: bool, expected: Labels) -> None:
    assert merge_labels(exposed, TARGET, honor) == expected


def test_external_labels_never_override() -> None:
    merged = merge_labels((("region", "us"),), TARGET, False, (("region", "eu"), ("stage", "prod")))
    assert dict(merged)["region"] == "us"
    assert dict(merged)["stage"] == "prod"


def _target(honor_timestamps: bool = True) -> Target:
    return Target("api", "http://h:1/metrics", TARGET, (), 10.0, 60.0, False, honor_timestamps, 1 << 20)


def test_the_finisher_gives_a_series_its_target_labels() -> None:
    assert finisher(_target())([("code", "200")]) == (("code", "200"), *TARGET)


def test_synthetic_series() -> None:
    series = synthetic(
        _target(), (5, 6, 7, 8, 9), up=False, duration=0.5, scraped=0, kept=0, added=0, scrape_ms=7
    )
    assert [(s.name, s.value) for s in series] == [
        ("up", 0.0),
        ("scrape_duration_seconds", 0.5),
        ("scrape_samples_scraped", 0.0),
        ("scrape_samples_post_metric_relabeling", 0.0),
        ("scrape_series_added", 0.0),
    ]
    assert all(s.labels == TARGET and s.timestamp_ms == 7 for s in series)
    assert [s.series for s in series] == [5, 6, 7, 8, 9]


def test_metric_relabeling_runs_once_per_series_while_warm() -> None:
    from scrape_push.relabel import RelabelRules
    from scrape_push.scrape import SeriesCache

    calls: list[str] = []

    def rename(labels: dict[str, str]) -> bool:
        calls.append(labels["__name__"])
        if labels["__name__"] == "drop_me":
            return False
        labels["__name__"] = "new_" + labels["__name__"]
        return True

    cache = SeriesCache(relabel=RelabelRules((rename,)))
    for scrape in range(3):  # three warm scrapes reuse each series' relabeled entry
        kept = cache.samples(b'a{x="1"} 1\ndrop_me 2\n', None, scrape)
        assert [(s.name, s.labels) for s in kept] == [("new_a", (("x", "1"),))]
    assert calls == ["a", "drop_me"]
