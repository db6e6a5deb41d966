"""Plugins are found without being imported, imported when their key is used, and built by their
own factory; the registry refuses a plugin that serves a key its package is not named for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scrape_push.config.source import parse_config
from scrape_push.discovery.ec2.config import EC2SDConfig
from scrape_push.plugins import DISCOVERIES, SINKS, BuildContext, SinkPlugin, register_sink
from scrape_push.sinks.cloudwatch.config import CloudWatchConfig
from scrape_push.sinks.graphite.config import GraphiteConfig
from scrape_push.sinks.remote_write.config import RemoteWriteConfig

from tests.support.context import build_context

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "scrape_push"


PLUGINS_LOADED = (
    "import sys\n"
    "plugins = [m for m in sys.modules if m.startswith(('scrape_push.sinks.', 'scrape_push.discovery.'))]\n"
    "print(' '.join(sorted(m for m in plugins if m != 'scrape_push.sinks.base')))\n"
)


def printed(code: str) -> list[str]:
    """The lines ``code`` prints in a clean interpreter, then the plugin modules it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", code + "\n" + PLUGINS_LOADED],
        cwd=PACKAGE,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.split("\n")[:-1]  # each line ends with a newline


def packages(folder: str) -> list[str]:
    return sorted(
        p.name for p in (PACKAGE / "scrape_push" / folder).iterdir() if (p / "__init__.py").is_file()
    )


def test_plugins_are_found_without_importing_any() -> None:
    code = (
        "from scrape_push.plugins import DISCOVERIES, SINKS\n"
        "print(' '.join(SINKS.served()))\n"
        "print(' '.join(DISCOVERIES.served()))\n"
    )
    sinks, discoveries, loaded = (line.split() for line in printed(code))
    assert sinks == packages("sinks")
    assert {"cloudwatch", "graphite", "remote_write"} <= set(sinks)
    assert discoveries == [f"{name}_sd_configs" for name in packages("discovery")]
    assert "ec2_sd_configs" in discoveries
    assert loaded == []


def test_a_lookup_imports_the_plugin_package_and_its_configuration_only() -> None:
    (loaded,) = printed("from scrape_push.plugins import DISCOVERIES\nDISCOVERIES.get('ec2_sd_configs')")
    # and the configuration module the AWS discoveries share
    assert loaded.split() == [
        "scrape_push.discovery.awsconfig",
        "scrape_push.discovery.ec2",
        "scrape_push.discovery.ec2.config",
    ]


def test_every_plugin_serves_its_key_with_its_configuration() -> None:
    sinks = {p.section: p.config for p in SINKS.all()}
    assert sinks.keys() == set(SINKS.served())
    assert sinks.items() >= {
        ("cloudwatch", CloudWatchConfig),
        ("graphite", GraphiteConfig),
        ("remote_write", RemoteWriteConfig),
    }
    discoveries = {p.key: p.config for p in DISCOVERIES.all()}
    assert discoveries.keys() == set(DISCOVERIES.served())
    assert discoveries["ec2_sd_configs"] is EC2SDConfig


def test_each_sink_plugin_builds_a_sink_of_its_own_kind() -> None:
    config = parse_config(
        "cloudwatch: [{namespace: N}]\ngraphite: [{address: 'carbon:2003'}]\n"
        "remote_write: [{url: 'https://rw.example/api/v1/write'}]\nruntime: {max_concurrent_requests: 3}\n"
    ).config
    context = build_context(config.runtime.max_concurrent_requests)
    built = [
        SINKS.get(section).build(entry, context)
        for section, entries in config.sinks.items()
        for entry in entries
    ]
    assert [(kind.kind, kind.name) for kind in built] == [
        ("cloudwatch", "cloudwatch/N"),
        ("graphite", "graphite/carbon:2003"),
        ("remote_write", "remote_write/rw.example/api/v1/write"),
    ]


def test_a_key_no_package_serves_has_no_plugin() -> None:
    with pytest.raises(LookupError, match="no plugin serves 'carrier_pigeon'"):
        SINKS.get("carrier_pigeon")
    with pytest.raises(LookupError, match="no plugin serves 'carrier_pigeon_sd_configs'"):
        DISCOVERIES.get("carrier_pigeon_sd_configs")


def test_a_plugin_must_serve_the_key_its_package_is_named_for() -> None:
    def build(config: object, context: BuildContext) -> object:
        raise AssertionError("never built")

    with pytest.raises(
        ValueError, match=r"no package under scrape_push\.sinks is named for the key 'carrier_pigeon'"
    ):
        register_sink(SinkPlugin("carrier_pigeon", CloudWatchConfig, build))  # type: ignore[arg-type]
    with pytest.raises(LookupError):
        SINKS.get("carrier_pigeon")
