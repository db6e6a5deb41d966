"""scrape-push against a real Prometheus 2.42 (issue 15, point 8): one Prometheus scrapes the
endpoints directly; the real handler scrapes the same endpoints and remote-writes into a second
Prometheus. Both must store the same series with the same values: for duplicates (the first
sample kept), for what 2.42's parser accepts although the format specs do not, and for the
``up``/``scrape_*`` series of failed scrapes.

UTF-8 names (Prometheus 3.x's quoted syntax) are not here: 2.42 refuses them
(tests/unit/test_utf8_names.py has them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools import processes
from tests.integration.remote_write.conftest import Receiver, prometheus_receiver
from tests.support.http import Response, serve
from tests.support.integration import started

pytestmark = pytest.mark.integration

LENIENT = (
    # every line as Prometheus 2.42 reads it (the lead's notes, section 3.2), none fails
    b'esc_m{a="x\\qy",b="tab\\tz",c="nl\\nq",d="bs\\\\e",e="quo\\"f"} 1\n'
    b'lb20{a="\\u00e9"} 2\n'
    b'lb21{a="\\\\n"} 3\n'
    b'lb6{a="x\ty"} 4\n'
    b'lu_m{a="h\xc3\xa9llo \xe2\x98\x83"} 5\n'
    b"ta_m 6\n# TYPE ta_m counter\n"
    b"# TYPE tt_m counter\n# TYPE tt_m gauge\ntt_m 7\n"
    b"# HELP ht_m a\n# HELP ht_m b\nht_m 8\n"
    b"# caf\xe9 not UTF-8 in a comment\n"
    b"# HELP\n#\n#nospace\n# UNIT x s\n"
    b'# TYPE cx11 histogram\ncx11_bucket{le="1"} 9\ncx11_count 9\n'
    b'ln2_m{__x="1"} 10\n'
    b'el_m{a="",b="1"} 11\n'
    b'tc_m{a="1",} 12\n'
    b'lb1{a="1" b="2"} 13\n'
    b'ls_m {a="1"} 14\nlb18{a ="1"} 15\nlb4{a="1"}16\nlb10{a="1"}\t17\n'
    b"lb11\t18\t\nlb12  19  \n"
    b'lb5{a="x\ny"} 20\n'
    b"\n\n"
    b"v1 +Inf\nv2 -Inf\nv3 NaN\nv4 1e-400\nv5 007\nv6 .5\nv7 -0\n"
    b"lb15 21\n\x00\nafter a NUL line nothing counts {{{\n"
)

DUPLICATES = (
    b'du_m 1\ndu_m 2\ndu_n{a="1",b="2"} 3\ndu_n{b="2",a="1"} 4\nlb27{a=""} 5\nlb27 6\ndu_m 7\nother 8\n'
)

FAILING = b"pf_a 1\npf_b 2\npf_c x\npf_d 4\n"
LIMITED = b"s1 1\ns2 1\ns3 1\ns4 1\ns5 1\n"
# issue 15, round three: what the fuzzing found, two TYPEs for one series, a label limit after
# relabeling's drops, a bad OpenMetrics # EOF after a sample, an OpenMetrics trailing comma
INDENTED_HELP = b' # HELP a \\\\"\n# a comment\na{a="\\",} 0 0\n'
TWO_TYPES = b"tt2 1\n# TYPE tt2 gauge\ntt2 2\n"
LABEL_LIMITED = b'ok1 1\ndropme 1\ndropme2 1\nbad{a="1",b="2"} 1\nafter 1\n'
OM_EOF = b"om_a 1\n# EOF \n"
OM_COMMA = b'om_b 1\nom_c{a="1",} 2\n# EOF\n'
# round four: repeated label names as the scrape loop resolves them, NULs the lexer skips
REPEATED = b'rp_a{job="x",job="y"} 1\nrp_c{job="y",job=""} 2\nrp_n{x="1"\x00} 3\n# HELP \x00rp_h x\nrp_h 4\n'
# a sample an hour old: not stored by 2.42 (a receiver would refuse the whole request holding it)
OLD_TIME = b"old_a 1 1000\nold_b 2\n"
REPEATED_FAILING = b'rp_ok 1\nrp_d{x="1",x="2"} 1\nrp_after 1\n'

BODIES = {
    "lenient": LENIENT,
    "duplicates": DUPLICATES + TWO_TYPES,
    "failing": FAILING,
    "limited": LIMITED,
    "indented_help": INDENTED_HELP,
    "label_limited": LABEL_LIMITED,
    "om_eof": OM_EOF,
    "om_comma": OM_COMMA,
    "repeated": REPEATED,
    "old_time": OLD_TIME,
    "repeated_failing": REPEATED_FAILING,
    "repeated_dropped": REPEATED_FAILING,
    "repeated_rewritten": REPEATED_FAILING,
}
JOBS = {
    "limited": "    sample_limit: 3\n",
    "repeated_dropped": "    metric_relabel_configs: [{regex: x, action: labeldrop}]\n",
    # a rule that sets the repeated name to the value it had makes it one label
    "repeated_rewritten": "    metric_relabel_configs: [{source_labels: [x], target_label: x}]\n",
    "label_limited": "    label_limit: 4\n"
    "    metric_relabel_configs: [{source_labels: [__name__], regex: 'dropme.*', action: drop}]\n",
}
CONTENT_TYPES = dict.fromkeys(("om_eof", "om_comma"), "application/openmetrics-text; version=1.0.0")


def _scrape_configs(address: str) -> str:
    return "scrape_configs:\n" + "".join(
        f"  - job_name: {job}\n    metrics_path: /{job}\n{JOBS.get(job, '')}"
        f"    static_configs: [{{targets: ['{address}']}}]\n"
        for job in BODIES
    )


def _respond(path: str) -> Response:
    job = path.strip("/").split("?")[0]
    return Response(BODIES[job], **({"content_type": CONTENT_TYPES[job]} if job in CONTENT_TYPES else {}))


@pytest.fixture
def endpoint() -> Iterator[str]:
    with serve(_respond) as served:
        yield served.address


@pytest.fixture
def direct(tmp_path: Path, endpoint: str) -> Iterator[Receiver]:
    """A Prometheus 2.42 scraping the endpoints itself, every second."""
    server = prometheus_receiver(tmp_path)
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n" + _scrape_configs(endpoint)
    )
    with started(server):
        processes.wait_until(lambda: _scraped_twice(server), 30.0)
        yield server


def _scraped_twice(server: Receiver) -> bool:
    """Every job scraped at least twice (its ``scrape_series_added`` settled)."""
    found = server.api("query", query="count_over_time(up[1m])")["result"]
    return len(found) == len(BODIES) and all(float(r["value"][1]) >= 2 for r in found)


Stored = dict[tuple[tuple[str, str], ...], str]


def _stored(server: Receiver, job: str) -> Stored:
    """Every series of ``job`` with its latest value as Prometheus prints it (``-0``, ``NaN`` and
    ``+Inf`` as such; a duration by its name only)."""
    result = server.api("query", query=f'{{job="{job}"}}')["result"]
    out: Stored = {}
    for found in result:
        labels = tuple(sorted(found["metric"].items()))
        value = found["value"][1]
        out[labels] = "a duration" if found["metric"]["__name__"] == "scrape_duration_seconds" else value
    return out


def test_scrape_push_stores_what_prometheus_242_stores(
    emulated: Any, receiver: Receiver, direct: Receiver, endpoint: str
) -> None:
    emulated.put_config(
        _scrape_configs(endpoint)
        + f"remote_write:\n  - url: {receiver.write_url}\n    metadata_config: {{send: false}}\n"
    )
    for _ in range(2):  # the second scrape's scrape_series_added, as Prometheus's later ones
        summary = emulated.invoke()
        assert all(sink["ok"] for sink in summary["sinks"]), summary["sinks"]
    for job in BODIES:
        expected = _stored(direct, job)
        assert expected, f"Prometheus stored nothing for {job}"
        assert _stored(receiver, job) == expected, job
    dropped = {t["job"]: t["duplicates_dropped"] for t in summary["targets"]}
    assert dropped == {job: 5 if job == "duplicates" else 0 for job in BODIES}


def test_the_lenient_cases_are_kept_with_the_labels_prometheus_gives_them(direct: Receiver) -> None:
    stored = _stored(direct, "lenient")
    by_name = {dict(labels)["__name__"]: dict(labels) for labels in stored}
    assert by_name["esc_m"]["a"] == "x\\qy" and by_name["lb5"]["a"] == "x\ny"
    assert "after" not in " ".join(by_name) and "lb15" in by_name
    assert stored[(("__name__", "up"), ("instance", by_name["up"]["instance"]), ("job", "lenient"))] == "1"
    assert stored[(("__name__", "v7"), ("instance", by_name["up"]["instance"]), ("job", "lenient"))] == "-0"


@pytest.mark.parametrize(
    ("escaping", "stored"),
    [("allow-utf-8", ("my.metric", "label.name")), ("underscores", ("my_metric", "label_name"))],
)
def test_utf8_names_reach_a_prometheus_242_receiver_as_the_escaping_scheme_says(
    escaping: str, stored: tuple[str, str], emulated: Any, receiver: Receiver
) -> None:
    """2.42 cannot scrape quoted names, but as a receiver it stores what it is sent (it predates
    the name validation of 2.46)."""
    job = f"utf8_{escaping.replace('-', '_')}"
    with serve(Response(b'{"my.metric","label.name"="v"} 1\n')) as served:
        emulated.put_config(
            f"global: {{metric_name_escaping_scheme: {escaping}}}\n"
            f"scrape_configs: [{{job_name: {job}, static_configs: [{{targets: ['{served.address}']}}]}}]\n"
            f"remote_write:\n  - url: {receiver.write_url}\n    metadata_config: {{send: false}}\n"
        )
        summary = emulated.invoke()
    assert summary["targets_up"] == 1 and all(sink["ok"] for sink in summary["sinks"]), summary
    found = receiver.api("series", **{"match[]": f'{{job="{job}"}}'})
    names = {s["__name__"]: s for s in found}
    assert names[stored[0]][stored[1]] == "v"
