"""The compiled kernels' loader: a kernel is used only when it loads and speaks the revision asked."""

from __future__ import annotations

import sys
from types import ModuleType

import pytest
from scrape_push import native, settings

from devtools.resources import load_template


@pytest.fixture(autouse=True)
def _not_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader as the function runs it by default, whatever the tests' environment says."""
    monkeypatch.delenv(settings.NATIVE_ENV, raising=False)


def _fake(monkeypatch: pytest.MonkeyPatch, name: str, api: object) -> ModuleType:
    module = ModuleType(f"scrape_push._{name}")
    module.API = api  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module


def test_a_kernel_of_the_revision_asked_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    module = _fake(monkeypatch, "fake_ok", 3)
    assert native.load("fake_ok", 3) is module
    assert native.STATUS["fake_ok"] == "compiled"


def test_a_kernel_of_another_revision_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(monkeypatch, "fake_old", 2)
    assert native.load("fake_old", 3) is None
    assert native.STATUS["fake_old"] == "unusable: revision 2 of its interface, not 3"


def test_a_kernel_not_built_is_absent() -> None:
    assert native.load("never_built", 1) is None
    assert native.STATUS["never_built"] == "absent"


def test_turned_off_even_where_built(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(monkeypatch, "fake_off", 1)
    monkeypatch.setenv(settings.NATIVE_ENV, " OFF ")
    assert native.load("fake_off", 1) is None
    assert native.STATUS["fake_off"] == "off"


def test_a_kernel_that_fails_to_load_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(name: str) -> ModuleType:
        raise ImportError(f"{name}: wrong ELF class")

    monkeypatch.setattr(native, "import_module", refuse)
    assert native.load("fake_broken", 1) is None
    assert native.STATUS["fake_broken"] == "unusable: scrape_push._fake_broken: wrong ELF class"


def test_the_kernels_changed_since_a_report_are_those_to_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "STATUS", {"scan": "compiled", "wire": "off"})
    assert native.changed({}) == {"scan": "compiled", "wire": "off"}
    assert native.changed({"scan": "compiled", "wire": "off"}) == {}
    assert native.changed({"scan": "absent"}) == {"scan": "compiled", "wire": "off"}


def test_the_template_leaves_the_kernels_on() -> None:
    """``SCRAPE_PUSH_NATIVE`` is the user's switch (docs/native.md): no deploy sets it."""
    template = load_template()
    functions = [template["Globals"]["Function"]]
    functions += [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
    ]
    assert all(settings.NATIVE_ENV not in f.get("Environment", {}).get("Variables", {}) for f in functions)
