"""Which addresses a redirect may not reach, and when the target's own kind allows it."""

from __future__ import annotations

import pytest
from scrape_push.guard import Aborted, Guard
from scrape_push.reach import LINK_LOCAL, LOOPBACK, METADATA, Reach, ReachRefused, kind_of


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", LOOPBACK),
        ("127.9.9.9", LOOPBACK),
        ("::1", LOOPBACK),
        ("0.0.0.0", LOOPBACK),
        ("::ffff:127.0.0.1", LOOPBACK),
        ("169.254.169.254", METADATA),
        ("fd00:ec2::254", METADATA),
        ("64:ff9b::a9fe:a9fe", METADATA),
        ("::ffff:169.254.169.254", METADATA),
        ("169.254.170.2", LINK_LOCAL),
        ("fe80::1%eth0", LINK_LOCAL),
        ("10.0.0.1", None),
        ("93.184.216.34", None),
        ("not-an-address", None),
    ],
)
def test_kinds(address: str, kind: str | None) -> None:
    assert kind_of(address) == kind


def fixed(addresses: dict[str, list[str]]) -> Reach:
    return Reach("http://app.internal:9100/metrics", resolver=lambda host, _port: addresses.get(host, []))


def test_a_target_may_reach_its_own_kind_only() -> None:
    on_loopback = fixed({"app.internal": ["127.0.0.1"]})
    on_loopback.check_peer("127.0.0.1", "http://127.0.0.1:1/")
    with pytest.raises(ReachRefused, match=r"169\.254\.169\.254 is an instance metadata address"):
        on_loopback.check_peer("169.254.169.254", "http://169.254.169.254/latest/")
    ordinary = fixed({"app.internal": ["10.0.0.5"]})
    ordinary.check_peer("10.0.0.6", "http://10.0.0.6/")
    with pytest.raises(ReachRefused, match="is a loopback address and the target is not"):
        ordinary.check_peer("::1", "http://[::1]:9/")


def test_a_redirect_naming_a_restricted_address_is_refused_before_connecting() -> None:
    guard = Guard(float("inf"), fixed({"app.internal": ["10.0.0.5"]}), proxied=False)
    guard.sending("http://app.internal:9100/metrics")  # the target's own request
    with pytest.raises(ReachRefused):
        guard.sending("http://[fd00:ec2::254]/latest/api/token")
    guard.sending("http://elsewhere.example/metrics")  # a name: checked once connected


def test_through_a_proxy_every_address_of_the_name_is_checked() -> None:
    reach = fixed({"app.internal": ["10.0.0.5"], "rebind.example": ["10.0.0.7", "169.254.169.254"]})
    guard = Guard(float("inf"), reach, proxied=True)
    guard.sending("http://app.internal:9100/metrics")
    with pytest.raises(ReachRefused):
        guard.sending("http://rebind.example/")


def test_a_long_location_is_cut_in_the_error() -> None:
    with pytest.raises(ReachRefused) as raised:
        fixed({}).check_peer("127.0.0.1", "http://127.0.0.1/" + "x" * 1000)
    assert len(str(raised.value)) < 400


def test_every_request_of_a_scrape_gets_only_the_time_left() -> None:
    now = [100.0]
    guard = Guard(102.5, fixed({}), proxied=False, clock=lambda: now[0])
    assert guard.sending("http://app.internal:9100/metrics") == 2.5
    now[0] = 102.0
    assert guard.sending("http://app.internal:9100/moved") == 0.5  # a redirect's connect is bounded
    now[0] = 103.0
    with pytest.raises(Aborted):
        guard.sending("http://app.internal:9100/again")
