"""EMF documents: structure and limits, checked line by line by the strict EMF checker."""

from __future__ import annotations

import json
import math

from scrape_push.sinks.cloudwatch import emf
from scrape_push.sinks.cloudwatch.config import CloudWatchConfig

from tests.support.cloudwatch import config, convert, sample
from tests.support.emf import violations


def written(cfg: CloudWatchConfig, samples: list) -> tuple[list[str], emf.EmfResult]:  # type: ignore[type-arg]
    result = emf.documents(convert(samples, cfg).datums)
    lines: list[str] = []
    emf.write(result.documents, lines.append)
    return lines, result


def test_one_document_per_dimension_set_with_dimensions_as_root_members() -> None:
    lines, result = written(config(), [sample("a", 1.0), sample("b_seconds", 2.5)])
    (line,) = lines
    assert violations(line) == []
    doc = json.loads(line)
    assert doc["job"] == "j" and doc["instance"] == "i:1" and doc["a"] == 1.0 and doc["b_seconds"] == 2.5
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["job", "instance"]]
    assert directive["Metrics"] == [{"Name": "a"}, {"Name": "b_seconds", "Unit": "Seconds"}]
    assert result.sent == 2


def test_at_most_100_metrics_per_document_and_nan_never_written() -> None:
    samples = [sample(f"m{i}", float(i)) for i in range(250)] + [sample("bad", math.nan)]
    lines, result = written(config(), samples)
    assert [len(json.loads(x)["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for x in lines] == [100, 100, 50]
    assert all(violations(x) == [] for x in lines)
    assert result.sent == 250


def test_rollups_merge_values_into_arrays_of_at_most_100() -> None:
    samples = [sample("req", float(i), code=str(i)) for i in range(150)]
    lines, _ = written(config(dimensions=("job", "instance", "code"), rollups=(("job",),)), samples)
    assert all(violations(x) == [] for x in lines)
    rolled = [
        json.loads(x)
        for x in lines
        if json.loads(x)["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["job"]]
    ]
    assert sorted(len(d["req"]) for d in rolled) == [50, 100]


def test_distributions_repeat_values_by_count_and_scale_large_counts() -> None:
    assert emf.expand([0.5, 2.0], [2.0, 1.0]) == [0.5, 0.5, 2.0]
    scaled = emf.expand([0.5, 2.0], [900.0, 100.0])
    assert len(scaled) == 100 and scaled.count(0.5) == 90


def test_a_metric_named_like_a_dimension_is_dropped_not_clobbering_it() -> None:
    _, result = written(config(), [sample("job", 1.0)])
    assert result.dropped == {"emf_name_conflict": 1} and result.documents == []
