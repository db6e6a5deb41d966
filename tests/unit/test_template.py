"""template.yaml: the deployed shape the issue asks for, and a working example config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from scrape_push.config import parse_config
from scrape_push.sinks.cloudwatch.state import KEY_ATTRIBUTE, STATE_TABLE_ENV, TTL_ATTRIBUTE

ROOT = Path(__file__).resolve().parents[2]


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form intrinsics (!Ref, !Sub ...) as {"Fn::X": value}."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=CfnLoader)
    return loaded


def test_function_runs_python313_on_arm64_with_powertools_settings() -> None:
    globals_ = template()["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_PARAMETERS_MAX_AGE"} <= set(
        globals_["Environment"]["Variables"]
    )
    assert globals_["MemorySize"] == {"Ref": "MemorySize"}
    assert globals_["Timeout"] == {"Ref": "Timeout"}


def test_schedule_is_eventbridge_scheduler_every_minute_by_default() -> None:
    t = template()
    event = t["Resources"]["ScrapePushFunction"]["Properties"]["Events"]["Schedule"]
    assert event["Type"] == "ScheduleV2"
    assert event["Properties"]["ScheduleExpression"] == {"Ref": "ScheduleRate"}
    assert t["Parameters"]["ScheduleRate"]["Default"] == "rate(1 minute)"


def test_put_metric_data_is_limited_to_the_namespace() -> None:
    statements = template()["Resources"]["ScrapePushFunction"]["Properties"]["Policies"][0]["Statement"]
    put = next(s for s in statements if s["Action"] == "cloudwatch:PutMetricData")
    assert put["Condition"]["StringLike"]["cloudwatch:namespace"] == [
        {"Ref": "CloudWatchNamespace"},
        {"Fn::Sub": "${CloudWatchNamespace}/*"},
    ]
    decrypt = next(s for s in statements if s["Action"] == "kms:Decrypt")
    assert decrypt["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"
    }
    read = next(s for s in statements if "ssm:GetParameter" in s["Action"])
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
    assert read["Resource"] == {
        "Fn::If": [
            "UseConfigPath",
            {"Fn::Sub": arn + "${ConfigPath}/*"},
            {"Fn::Sub": arn + "${ConfigParameterName}"},
        ]
    }


def test_config_path_mode_sets_a_trailing_slash() -> None:
    env = template()["Resources"]["ScrapePushFunction"]["Properties"]["Environment"]["Variables"]
    assert env["CONFIG_PARAMETER"] == {
        "Fn::If": ["UseConfigPath", {"Fn::Sub": "${ConfigPath}/"}, {"Ref": "ConfigParameterName"}]
    }


def test_the_example_configuration_in_the_template_is_valid() -> None:
    value = template()["Resources"]["ConfigParameter"]["Properties"]["Value"]["Fn::Sub"]
    config = parse_config(value.replace("${CloudWatchNamespace}", "ScrapePush")).config
    assert config.scrape_configs[0].job_name == "example"
    assert config.cloudwatch[0].namespace == "ScrapePush"


def test_the_demo_configuration_is_valid() -> None:
    config = parse_config((ROOT / "events" / "demo-config.yaml").read_text()).config
    assert config.scrape_configs[0].job_name == "demo"


def test_ec2_discovery_is_granted_only_when_enabled() -> None:
    statements = template()["Resources"]["ScrapePushFunction"]["Properties"]["Policies"][0]["Statement"]
    conditional = {s["Fn::If"][1]["Sid"]: s["Fn::If"][0] for s in statements if "Fn::If" in s}
    assert conditional["DiscoverEc2Instances"] == "UseEc2Discovery"
    assert conditional["AssumeConfiguredRoles"] == "HasAssumableRoles"
    assert template()["Parameters"]["EnableEc2Discovery"]["Default"] == "false"


def test_state_table_is_on_demand_encrypted_with_ttl_and_least_privilege() -> None:
    t = template()
    table = t["Resources"]["StateTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert table["KeySchema"] == [{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}]
    function = t["Resources"]["ScrapePushFunction"]["Properties"]
    assert function["Environment"]["Variables"][STATE_TABLE_ENV] == {"Ref": "StateTable"}
    statement = next(s for s in function["Policies"][0]["Statement"] if s.get("Sid") == "CounterStateTable")
    assert statement["Action"] == ["dynamodb:BatchGetItem", "dynamodb:PutItem"]
    assert statement["Resource"] == {"Fn::GetAtt": "StateTable.Arn"}
