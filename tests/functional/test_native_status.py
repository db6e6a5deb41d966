"""The compiled kernels in use, on the summary line of the invocation that first loads them (an
execution environment's first: its cold start), and a warning naming why for one unusable."""

from __future__ import annotations

import logging

import pytest
from scrape_push import native

from tests.functional.conftest import Emulated
from tests.support.http import refused_address


def config() -> str:
    return (
        "scrape_configs:\n"
        "  - job_name: app\n"
        f"    static_configs: [{{targets: ['{refused_address()}']}}]\n"
        "cloudwatch:\n"
        "  - namespace: NativeStatus\n"
    )


UNUSABLE = "unusable: /var/task/scrape_push/_wire.abi3.so: wrong ELF class: ELFCLASS32"


def logged(caplog: pytest.LogCaptureFixture) -> tuple[list[logging.LogRecord], list[str]]:
    """The "cycle done" lines and the kernels' warnings logged since the last call."""
    done = [r for r in caplog.records if r.getMessage() == "cycle done"]
    warned = [r.getMessage() for r in caplog.records if r.getMessage().startswith("compiled kernel")]
    caplog.clear()
    return done, warned


def test_the_kernels_are_logged_once_each_on_the_summary_line(
    emulated: Emulated, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = {"scan": "compiled", "wire": UNUSABLE}
    monkeypatch.setattr(native, "STATUS", status)
    emulated.put_config(config())

    emulated.invoke()
    (first,), warned = logged(caplog)
    assert first.native == {"scan": "compiled", "wire": UNUSABLE}  # type: ignore[attr-defined]
    assert warned == [f"compiled kernel wire {UNUSABLE}; its pure-Python path runs instead (docs/native.md)"]

    emulated.invoke()
    (second,), warned = logged(caplog)
    assert not hasattr(second, "native") and warned == []
    assert first.summary.keys() == second.summary.keys()  # type: ignore[attr-defined]  # its own fields
    assert {"targets_up", "targets_down", "sinks"} <= first.summary.keys()  # type: ignore[attr-defined]

    status["labels"] = "absent"  # a kernel whose caller a later invocation imported
    emulated.invoke()
    (third,), warned = logged(caplog)
    assert third.native == {"scan": "compiled", "wire": UNUSABLE, "labels": "absent"}  # type: ignore[attr-defined]
    assert warned == []  # wire's was said
