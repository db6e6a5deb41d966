"""The ``graphite`` section: defaults, every rule, and the exact message for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrape_push.config.errors import ConfigError
from scrape_push.config.source import parse_config
from scrape_push.sinks.graphite.config import GraphiteConfig


def decode(snippet: str) -> GraphiteConfig:
    (sink,) = parse_config(f"graphite:\n{snippet}").config.sinks["graphite"]
    return sink


def test_defaults() -> None:
    sink = decode("  - address: carbon.example:2003\n")
    assert sink == GraphiteConfig(address="carbon.example:2003").resolve()
    assert (sink.protocol, sink.mode, sink.prefix, sink.template) == ("plaintext", "path", "", "{__name__}")
    assert (sink.name, sink.backlog.max_age) == ("carbon.example:2003", 86400.0)
    assert (sink.connect_timeout, sink.write_timeout, sink.batch_size) == (5.0, 10.0, 1000)
    assert sink.sink_name == "graphite/carbon.example:2003"


@pytest.mark.parametrize(
    ("address", "protocol", "host_port"),
    [
        ("carbon", "plaintext", ("carbon", 2003)),
        ("carbon", "pickle", ("carbon", 2004)),
        ("carbon", "udp", ("carbon", 2003)),
        ("10.1.2.3:2013", "pickle", ("10.1.2.3", 2013)),
        ("[::1]:2003", "plaintext", ("::1", 2003)),
        ("[fd00::1]", "pickle", ("fd00::1", 2004)),
    ],
)
def test_addresses_and_default_ports(address: str, protocol: str, host_port: tuple[str, int]) -> None:
    assert decode(f"  - {{address: '{address}', protocol: {protocol}}}\n").host_port == host_port


def test_every_key() -> None:
    sink = decode(
        "  - name: main\n"
        "    address: 127.0.0.1:2004\n"
        "    protocol: pickle\n"
        "    mode: path\n"
        "    prefix: prom.eu-west-1\n"
        "    template: '{job}.{instance}.{__name__}'\n"
        "    connect_timeout: 2s\n"
        "    write_timeout: 1500ms\n"
        "    batch_size: 500\n"
    )
    assert sink.sink_name == "graphite/main"
    assert (sink.prefix, sink.template, sink.connect_timeout, sink.write_timeout) == (
        "prom.eu-west-1",
        "{job}.{instance}.{__name__}",
        2.0,
        1.5,
    )


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("  - {}\n", "graphite[0].address: missing required key (line 2)"),
        (
            "  - {address: 'a b'}\n",
            "graphite[0].address: invalid address 'a b' (expected host:port) (line 2)",
        ),
        ("  - {address: 'h:70000'}\n", "graphite[0].address: port 70000 is out of range (line 2)"),
        (
            "  - {address: h, protocol: tcp}\n",
            "graphite[0].protocol: must be one of 'plaintext', 'pickle', 'udp', got 'tcp' (line 2)",
        ),
        (
            "  - {address: h, mode: tag}\n",
            "graphite[0].mode: must be one of 'path', 'tags', got 'tag' (line 2)",
        ),
        (
            "  - {address: h, prefix: 'a..b'}\n",
            "graphite[0].prefix: must be dot-separated, non-empty components of letters, digits "
            "and _ - : (line 2)",
        ),
        (
            "  - {address: h, prefix: 'a b'}\n",
            "graphite[0].prefix: must be dot-separated, non-empty components of letters, digits "
            "and _ - : (line 2)",
        ),
        (
            "  - {address: h, mode: tags, template: '{__name__}'}\n",
            "graphite[0].template: only applies to mode 'path' (line 2)",
        ),
        (
            "  - {address: h, template: '{job}'}\n",
            "graphite[0].template: must place the metric name with {__name__} (line 2)",
        ),
        (
            "  - {address: h, connect_timeout: 0s}\n",
            "graphite[0].connect_timeout: must be greater than 0 (line 2)",
        ),
        (
            "  - {address: h, write_timeout: 10}\n",
            "graphite[0].write_timeout: expected a duration such as '10s', got int (line 2)",
        ),
        (
            "  - {address: h, batch_size: 0}\n",
            "graphite[0].batch_size: must be between 1 and 100000 (line 2)",
        ),
        ("  - {address: h, port: 1}\n", "graphite[0].port: unknown key (line 2)"),
        (
            "  - {address: h}\n  - {address: h, protocol: pickle}\n",
            "graphite[1].name: duplicate sink name 'h'; give each a distinct 'name', "
            "first at graphite[0] on line 2 (line 3)",
        ),
    ],
)
def test_mistakes_name_the_key(snippet: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(f"graphite:\n{snippet}")
    assert [str(p) for p in raised.value.problems] == [message]


def test_sink_names_are_unique_across_kinds() -> None:
    text = "cloudwatch:\n  - {namespace: App, name: main}\ngraphite:\n  - {address: h, name: main}\n"
    with pytest.raises(ConfigError) as raised:
        parse_config(text)
    assert [str(p) for p in raised.value.problems] == [
        "graphite[0].name: duplicate sink name 'main'; give each a distinct 'name', "
        "first at cloudwatch[0] on line 2 (line 4)"
    ]


def test_the_documented_sample_is_valid() -> None:
    sample = Path(__file__).resolve().parents[4] / "docs" / "graphite.example.yaml"
    sinks = parse_config(sample.read_text()).config.sinks["graphite"]
    assert [(s.sink_name, s.protocol, s.mode) for s in sinks] == [
        ("graphite/carbon-paths", "plaintext", "path"),
        ("graphite/carbon-tags", "pickle", "tags"),
        ("graphite/carbon-udp", "udp", "tags"),
    ]
