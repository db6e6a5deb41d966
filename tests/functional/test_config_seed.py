"""The template's configuration seed, run against emulated SSM: it creates the parameter with the
example only when it is absent, and no later deploy (update) or sam delete touches the value."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from tests.functional.conftest import Emulated
from tests.support.http import QuietHandler, serving
from tests.unit.test_template import template

NAME = "/scrape-push/config"
EXAMPLE = "scrape_configs: []  # the example\n"
MINE = "scrape_configs: [{job_name: mine}]\n"


@dataclass
class CloudFormation:
    """Stands in for CloudFormation: sends the seed its events, collects its answers."""

    url: str
    seed: types.ModuleType
    answers: list[dict[str, Any]] = field(default_factory=list)

    def send(self, request: str, physical: str = NAME, **properties: str) -> dict[str, Any]:
        """Send one request; ``properties`` override the resource's (an empty one is left out)."""
        props = {"Name": NAME, "Value": EXAMPLE, "Tier": "Intelligent-Tiering"} | properties
        event = {
            "RequestType": request,
            "ResponseURL": self.url,
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
            "RequestId": f"request-{len(self.answers)}",
            "LogicalResourceId": "ConfigParameterSeed",
            "ResourceProperties": {k: v for k, v in props.items() if v},
        }
        if request != "Create":
            event["PhysicalResourceId"] = physical
        self.seed.handler(event, types.SimpleNamespace(log_stream_name="stream"))
        return self.answers[-1]


@pytest.fixture
def cloudformation(emulated: Emulated) -> Iterator[CloudFormation]:
    seed = types.ModuleType("seed")
    exec(template()["Resources"]["ConfigSeedFunction"]["Properties"]["InlineCode"], seed.__dict__)
    answers: list[dict[str, Any]] = []

    class Handler(QuietHandler):
        def do_PUT(self) -> None:
            answers.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.answer(200, b"", {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with serving(server):
        host, port = server.server_address[:2]
        yield CloudFormation(f"http://{host}:{port}/response", seed, answers)


def value(emulated: Emulated, name: str = NAME) -> str:
    return str(emulated.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])


def test_the_first_deploy_creates_the_example(emulated: Emulated, cloudformation: CloudFormation) -> None:
    answer = cloudformation.send("Create")
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", NAME)
    assert value(emulated) == EXAMPLE


def test_an_existing_configuration_is_never_replaced(
    emulated: Emulated, cloudformation: CloudFormation
) -> None:
    emulated.put_config(MINE)
    assert cloudformation.send("Create")["Status"] == "SUCCESS"  # e.g. a stack deployed again
    assert (
        cloudformation.send("Update", value="scrape_configs: []  # a newer example\n")["Status"] == "SUCCESS"
    )
    assert value(emulated) == MINE
    versions = emulated.client("ssm").get_parameter_history(Name=NAME)["Parameters"]
    assert len(versions) == 1


def test_sam_delete_keeps_the_configuration(emulated: Emulated, cloudformation: CloudFormation) -> None:
    cloudformation.send("Create")
    emulated.put_config(MINE)
    answer = cloudformation.send("Delete")
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", NAME)
    assert value(emulated) == MINE


def test_a_renamed_parameter_is_created_and_the_old_one_kept(
    emulated: Emulated, cloudformation: CloudFormation
) -> None:
    emulated.put_config(MINE)
    answer = cloudformation.send("Update", Name="/team/scrape-push")
    assert answer["PhysicalResourceId"] == "/team/scrape-push"  # CloudFormation then deletes the old id:
    cloudformation.send("Delete", physical=NAME)  # ... which leaves it alone
    assert (value(emulated), value(emulated, "/team/scrape-push")) == (MINE, EXAMPLE)


def test_a_failure_is_answered_so_the_stack_never_hangs(cloudformation: CloudFormation) -> None:
    answer = cloudformation.send("Create", Value="")
    assert answer["Status"] == "FAILED" and answer["Reason"] == "KeyError: 'Value'"
