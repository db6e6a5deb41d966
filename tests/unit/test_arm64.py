"""devtools.arm64 without an emulator: what the stage does where it cannot run, the pins it
takes, the environment it gives the arm64 interpreter (the stage itself: tests/arm64)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import arm64


@pytest.mark.parametrize(("ci", "code"), [("", 0), ("true", 1)])
def test_without_qemu_the_stage_skips_saying_so_except_under_ci(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ci: str, code: int
) -> None:
    monkeypatch.setattr(arm64, "missing_tools", lambda: ["qemu-aarch64"])
    monkeypatch.setenv("CI", ci)
    assert arm64.test([]) == code
    said = capsys.readouterr()
    expected = "no qemu-aarch64 on this machine (Debian: apt-get install qemu-user)"
    if code:
        assert said.err == f"test-arm64: {expected}: under CI the arm64 build must be exercised\n"
    else:
        assert said.out == f"test-arm64: skipped: {expected}; the arm64 build was not exercised\n"


def test_the_arm64_test_packages_are_pinned_as_requirements_dev_pins_them() -> None:
    pinned = arm64.pins()
    assert all(pinned[name].startswith(f"{name}==") for name in arm64.TEST_PACKAGES)
    assert pinned["ziglang"].startswith("ziglang==")  # from the file requirements-dev.txt includes


def test_the_arm64_interpreter_gets_no_host_python_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"PYTHONPATH": "/host", "PYTHONHOME": "/h", "VIRTUAL_ENV": "/v", "KEEP": "1"}.items():
        monkeypatch.setenv(name, value)
    env = arm64.Arm64(Path("/s"), Path("/w")).environment([Path("/f"), Path("/l")], EXTRA="2")
    assert env["PYTHONPATH"] == "/f:/l:/w" and env["EXTRA"] == "2" and env["KEEP"] == "1"
    assert "PYTHONHOME" not in env and "VIRTUAL_ENV" not in env
    assert arm64.Arm64(Path("/s"), Path("/w")).command("-c", "1") == [
        "qemu-aarch64",
        "-L",
        "/s",
        "/s/usr/bin/python3.13",
        "-c",
        "1",
    ]
