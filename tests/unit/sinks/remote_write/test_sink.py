"""RemoteWriteSink.push end to end over a fake poster: batching, accounting, auth, metadata."""

from __future__ import annotations

import base64
import gc
import tracemalloc

from scrape_push.deadline import Deadline
from scrape_push.delivery import DirectDelivery
from scrape_push.model import Family, Sample
from scrape_push.sinks.base import SinkReport
from scrape_push.sinks.remote_write.sink import RemoteWriteSink

from tests.support.context import build_context
from tests.support.remote_write import Reply, decode, fake_poster, series_of
from tests.support.samples import sample
from tests.unit.sinks.remote_write.test_transport import _config

JOB = (("instance", "a:1"), ("job", "j"))
REQUESTS = Family("requests", "counter", "Requests.")


def _samples(count: int) -> list[Sample]:
    return [sample("requests_total", (("i", str(i)), *JOB), float(i), 1000, REQUESTS) for i in range(count)]


def test_batches_every_sample_and_sends_metadata_apart() -> None:
    config = _config(
        "    queue_config: {max_samples_per_send: 4}\n    basic_auth: {username: u, password: pw}\n"
    )
    poster = fake_poster()
    report = DirectDelivery(RemoteWriteSink(config, build_context(3), poster=poster)).push(
        _samples(10), Deadline.after(30)
    )
    assert (report.offered, report.sent, report.failed, report.rejected) == (10, 10, 0, 0)
    assert report.requests == 4 and report.ok
    decoded = [decode(sent.body) for sent in poster.sent]  # type: ignore[arg-type]
    data = [d for d in decoded if d.timeseries]
    assert sorted(len(d.timeseries) for d in data) == [2, 4, 4]
    seen = {labels: points for d in data for labels, points in series_of(d).items()}
    assert len(seen) == 10
    (meta,) = [d for d in decoded if d.metadata]
    assert [(m.metric_family_name, m.type, m.help) for m in meta.metadata] == [("requests", 1, "Requests.")]
    auth = poster.sent[0].headers["Authorization"]
    assert auth == "Basic " + base64.b64encode(b"u:pw").decode()


def test_rejected_and_failed_batches_are_counted_apart() -> None:
    config = _config("    queue_config: {max_samples_per_send: 5}\n    metadata_config: {send: false}\n")
    poster = fake_poster(Reply(400, body=b"bad"), Reply(204))
    report = DirectDelivery(RemoteWriteSink(config, build_context(1), poster=poster)).push(
        _samples(10), Deadline.after(30)
    )
    assert (report.sent, report.rejected, report.failed) == (5, 5, 0)
    assert not report.ok
    assert report.errors == ["batch rejected with HTTP 400: bad (5 samples rejected, not retried)"]
    assert report.to_dict()["rejected"] == 5


def test_missing_secret_fails_every_sample_with_the_reason() -> None:
    from moto import mock_aws

    config = _config("    authorization: {credentials_ssm_parameter: /missing}\n")
    with mock_aws():
        report = DirectDelivery(RemoteWriteSink(config, build_context(), poster=fake_poster())).push(
            _samples(3), Deadline.after(30)
        )
    assert report.failed == 3 and "cannot read SSM parameter '/missing'" in report.errors[0]


def test_write_relabel_configs_filter_and_rename_without_touching_other_sinks_samples() -> None:
    config = _config(
        "    write_relabel_configs:\n"
        "      - {source_labels: [i], regex: '[0-4]', action: drop}\n"
        "      - {target_label: env, replacement: prod}\n"
    )
    samples = _samples(10)
    before = [(s.name, s.labels) for s in samples]
    poster = fake_poster()
    sink = RemoteWriteSink(config, build_context(1), poster=poster)
    for _ in range(2):  # a warm second push reuses what each series became for the sink
        poster.sent.clear()
        report = DirectDelivery(sink).push(samples, Deadline.after(30))
        assert (report.offered, report.sent, dict(report.dropped)) == (10, 5, {"write_relabel": 5})
        data = [decode(sent.body) for sent in poster.sent]  # type: ignore[arg-type]
        sent = {labels for d in data for labels in series_of(d)}
        assert len(sent) == 5 and all(("env", "prod") in labels for labels in sent)
    assert [(s.name, s.labels) for s in samples] == before


def test_names_are_escaped_by_their_kept_verdicts_within_the_memo_bound() -> None:
    from dataclasses import replace

    from scrape_push.sinks.remote_write.encode import LABEL_MEMO_SIZE, head_labels

    sink = RemoteWriteSink(_config(""), replace(build_context(), name_escaping="underscores"))
    legacy = sample("ok_total", (("a_b", "1"), *JOB), 1.0, 1000)
    dotted = sample("ok_total", (("a.b", "1"), *JOB), 1.0, 1000)
    for _ in range(2):  # the second time from the verdicts kept
        assert b"a_b" in head_labels(sink.encoding(legacy))  # type: ignore[arg-type]
        assert b"a_b" in head_labels(sink.encoding(dotted))  # type: ignore[arg-type]
        assert b"a.b" not in head_labels(sink.encoding(dotted))  # type: ignore[arg-type]
    for index in range(LABEL_MEMO_SIZE + 10):
        sink.encoding(sample(f"m{index}", JOB, 1.0, 1000))
    assert 0 < len(sink._legacy_names) <= LABEL_MEMO_SIZE


def test_a_delivered_request_lets_its_body_go_while_one_refused_keeps_it() -> None:
    config = _config("    queue_config: {max_samples_per_send: 2000}\n    metadata_config: {send: false}\n")
    poster = fake_poster(Reply(400, body=b"bad"))
    sink = RemoteWriteSink(config, build_context(1), poster=poster)
    report = SinkReport(sink.name, sink.kind)
    requests = sink.prepare(_samples(40_000), report).requests
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        results = sink.deliver(requests, Deadline.after(30), report)
        sent = sum(len(prepared.body) for prepared in poster.sent[1:])  # type: ignore[arg-type]
        poster.sent.clear()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert [result.status for result in results] == ["rejected"] + ["sent"] * 19
    assert sent > 200_000 and held < sent // 4  # the bodies delivered went with their sending
    assert len(requests[0].body()) > 1000  # the refused one is kept, for the backlog
