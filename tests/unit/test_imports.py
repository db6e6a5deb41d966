"""Every module imports on its own, whatever is imported first (no import cycles)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scrape_push.plugins import SINKS

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "scrape_push"

# Import each module first in a clean module table, in one child interpreter.
PROBE = """
import importlib, pkgutil, sys
import scrape_push
names = ["scrape_push"] + [m.name for m in pkgutil.walk_packages(scrape_push.__path__, "scrape_push.")]
names = [n for n in names if not n.endswith("__main__")]
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m == "scrape_push" or m.startswith("scrape_push.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print(len(names))
print("\\n".join(failed))
"""


def printed(probe: str) -> str:
    """What ``probe`` prints in a clean interpreter started in the function's folder."""
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PACKAGE, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def test_every_module_imports_first() -> None:
    count, *failures = printed(PROBE).splitlines()
    assert int(count) > 40
    assert [f for f in failures if f] == []


def test_a_cold_start_loads_no_sink_until_the_configuration_uses_it() -> None:
    probe = (
        "import sys, app\n"
        "loaded = [m for m in sys.modules if m.startswith('scrape_push.sinks.') and m.endswith('.sink')]\n"
        "print(sorted(loaded))\n"
    )
    assert printed(probe).strip() == "[]"


# A clean interpreter's cold start for one configuration shape: the handler imported, the
# configuration decoded, its sinks built (direct and durable) and its targets built. It prints the
# plugin modules loaded and the AWS service models botocore read.
COLD_START = """
import sys
import botocore.loaders

services = []
read = botocore.loaders.Loader.load_service_model

def recording(self, service_name, *args, **kwargs):
    services.append(service_name)
    return read(self, service_name, *args, **kwargs)

botocore.loaders.Loader.load_service_model = recording

import app
from scrape_push.config.source import parse_config
from scrape_push.runtime import RUNTIME
from scrape_push.targets import build_targets

loaded = parse_config(sys.stdin.read())
pipeline = RUNTIME.pipeline(loaded, None)
pipeline.deliveries(0)
build_targets(loaded.config, None, pipeline.discoveries)
plugins = sorted(
    m for m in sys.modules
    if m.startswith(("scrape_push.sinks.", "scrape_push.discovery."))
    and m not in ("scrape_push.sinks.base", "scrape_push.discovery.refresh")
)
print(" ".join(plugins))
print(" ".join(sorted(set(services))))
"""
JOB = "scrape_configs: [{job_name: node, static_configs: [{targets: ['127.0.0.1:9100']}]}]\n"
SHAPES = {
    "remote_write": JOB + "remote_write: [{url: 'https://rw.example/api/v1/write'}]\n",
    "cloudwatch": JOB + "cloudwatch: [{namespace: Team/App}]\n",
    "graphite": JOB + "graphite: [{address: 'carbon.internal:2003'}]\n",
    "otlp": JOB + "otlp: [{cloudwatch: {region: eu-west-1}}]\n",
}


ISOLATED = {
    "PATH": "/usr/bin:/bin",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


def cold_start(document: str, **env: str) -> tuple[set[str], set[str]]:
    """The plugin modules and the AWS service models a cold start with ``document`` loads."""
    done = subprocess.run(
        [sys.executable, "-c", COLD_START],
        cwd=PACKAGE,
        input=document,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**ISOLATED, **env},
    )
    plugins, services = done.stdout.split("\n")[-3:-1]  # after any log line (a failed discovery's)
    return set(plugins.split()), set(services.split())


def _of(modules: set[str], package: str) -> set[str]:
    return {m for m in modules if m == package or m.startswith(package + ".")}


@pytest.mark.parametrize(
    "backlog", [{}, {"BACKLOG_BUCKET": "backlog", "STATE_TABLE": "state"}], ids=["direct", "durable"]
)
@pytest.mark.parametrize("shape", SHAPES)
def test_a_cold_start_imports_only_the_plugins_its_configuration_uses(
    shape: str, backlog: dict[str, str]
) -> None:
    plugins, services = cold_start(SHAPES[shape], **backlog)
    assert f"scrape_push.sinks.{shape}.sink" in plugins  # the configured kind is built
    others = set(SINKS.served()) - {shape}
    assert {m for other in others for m in _of(plugins, f"scrape_push.sinks.{other}")} == set()
    assert {m for m in plugins if m.startswith("scrape_push.discovery.")} == set()  # static targets only
    assert "cloudwatch" not in services or shape == "cloudwatch"
    assert "ec2" not in services


def test_a_discovery_is_imported_when_a_job_uses_it() -> None:
    # No region: discovery fails for this one job (reported as its target error), after importing it.
    job = "scrape_configs: [{job_name: node, ec2_sd_configs: [{port: 9100}]}]\n"
    plugins, _ = cold_start(job + SHAPES["remote_write"].removeprefix(JOB), AWS_DEFAULT_REGION="")
    assert _of(plugins, "scrape_push.discovery.ec2") == {
        "scrape_push.discovery.ec2",
        "scrape_push.discovery.ec2.config",
        "scrape_push.discovery.ec2.instances",
    }
    others = {"aws", "cloudmap", "http", "lightsail"}
    assert {m for other in others for m in _of(plugins, f"scrape_push.discovery.{other}")} == set()


def test_the_configuration_model_imports_no_plugin() -> None:
    probe = (
        "import sys, scrape_push.config.model\n"
        "plugins = ('scrape_push.sinks', 'scrape_push.discovery')\n"
        "print(sorted(m for m in sys.modules if m.startswith(plugins)))\n"
    )
    assert printed(probe).strip() == "[]"


def test_the_handler_s_imports_run_no_cyclic_collection_and_leave_the_collector_on() -> None:
    probe = (
        "import gc\n"
        "before = [generation['collections'] for generation in gc.get_stats()]\n"
        "import app\n"
        "after = [generation['collections'] for generation in gc.get_stats()]\n"
        "print([b - a for a, b in zip(before, after)], gc.isenabled())\n"
    )
    assert printed(probe).strip() == "[0, 0, 0] True"
