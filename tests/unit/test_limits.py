from __future__ import annotations

import pytest
from scrape_push.limits import LimitExceeded, ScrapeLimits, check
from scrape_push.model import Sample

SAMPLES = [
    Sample("http_requests_total", (("code", "200"), ("instance", "h:1"), ("job", "api")), 1.0),
    Sample("http_requests_total", (("code", "500"), ("instance", "h:1"), ("job", "api")), 2.0),
]

CASES = {
    "sample_limit": (ScrapeLimits(sample_limit=1), "sample limit exceeded (2 samples, limit 1)"),
    "label_limit counts __name__": (
        ScrapeLimits(label_limit=3),
        "label_limit exceeded (metric: http_requests_total, number of labels: 4, limit: 3)",
    ),
    "label_name_length_limit": (
        ScrapeLimits(label_name_length_limit=4),
        "label_name_length_limit exceeded (metric: http_requests_total, label name: instance, length: 8, "
        "limit: 4)",
    ),
    "label_value_length_limit": (
        ScrapeLimits(label_value_length_limit=2),
        "label_value_length_limit exceeded (metric: http_requests_total, label name: code, value: '200', "
        "length: 3, limit: 2)",
    ),
}


@pytest.mark.parametrize("limits,message", CASES.values(), ids=CASES.keys())
def test_a_broken_limit_fails_the_scrape_with_prometheus_wording(limits: ScrapeLimits, message: str) -> None:
    with pytest.raises(LimitExceeded) as caught:
        check(SAMPLES, limits)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "limits",
    [
        ScrapeLimits(),
        ScrapeLimits(sample_limit=2, label_limit=4, label_name_length_limit=8, label_value_length_limit=3),
    ],
)
def test_samples_within_limits_pass(limits: ScrapeLimits) -> None:
    check(SAMPLES, limits)
