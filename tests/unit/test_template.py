"""template.yaml: the deployed shape the issue asks for, and a working example config."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from scrape_push.cli import DEFAULT_TIER, parser
from scrape_push.config.model import MAX_SHARDS
from scrape_push.config.source import parse_config, runnable
from scrape_push.settings import (
    BACKLOG_BUCKET_ENV,
    SHARD_CONCURRENCY_ENV,
    SHARD_COUNT_ENV,
    SHARD_QUEUE_URL_ENV,
    STATE_TABLE_ENV,
)
from scrape_push.shards.worker import MAX_RECEIVES
from scrape_push.statetable import KEY_ATTRIBUTE, TTL_ATTRIBUTE

from devtools.local_invoke import LAMBDA_ENVIRONMENT
from devtools.resources import load_template

ROOT = Path(__file__).resolve().parents[2]


def template() -> dict[str, Any]:
    return load_template()


def test_function_runs_python313_on_arm64_with_powertools_settings() -> None:
    globals_ = template()["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_PARAMETERS_MAX_AGE"} <= set(
        globals_["Environment"]["Variables"]
    )
    assert globals_["MemorySize"] == {"Ref": "MemorySize"}
    assert globals_["Timeout"] == {"Ref": "Timeout"}


def test_the_function_and_the_local_runners_limit_mallocs_arenas_alike() -> None:
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["MALLOC_ARENA_MAX"] == LAMBDA_ENVIRONMENT["MALLOC_ARENA_MAX"] == "2"
    threshold = "MALLOC_MMAP_THRESHOLD_"  # glibc's name (the underscore is its)
    assert variables[threshold] == LAMBDA_ENVIRONMENT[threshold] == str(4 * 1024 * 1024)


def test_schedule_is_eventbridge_scheduler_every_minute_by_default() -> None:
    t = template()
    event = t["Resources"]["ScrapePushFunction"]["Properties"]["Events"]["Schedule"]
    assert event["Type"] == "ScheduleV2"
    assert event["Properties"]["ScheduleExpression"] == {"Ref": "ScheduleRate"}
    assert t["Parameters"]["ScheduleRate"]["Default"] == "rate(1 minute)"


def test_put_metric_data_is_limited_to_the_namespace() -> None:
    statements = template()["Resources"]["ScrapePushFunction"]["Properties"]["Policies"][0]["Statement"]
    put = next(s for s in statements if s.get("Action") == "cloudwatch:PutMetricData")
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
    value = template()["Resources"]["ConfigParameterSeed"]["Properties"]["Value"]["Fn::Sub"]
    config = runnable(parse_config(value.replace("${CloudWatchNamespace}", "ScrapePush"))).config
    assert config.scrape_configs[0].job_name == "example"
    assert config.sinks["cloudwatch"][0].namespace == "ScrapePush"


def test_no_deploy_writes_the_configuration_parameter() -> None:
    resources = template()["Resources"]
    # The template owns no parameter: an owned value would be put back by every deploy, and
    # the parameter deleted by sam delete.
    assert [n for n, r in resources.items() if r["Type"] == "AWS::SSM::Parameter"] == []
    seed = resources["ConfigParameterSeed"]
    assert seed["Type"].startswith("Custom::")
    assert seed["Properties"]["ServiceToken"] == {"Fn::GetAtt": "ConfigSeedFunction.Arn"}
    assert seed["Properties"]["Name"] == {"Ref": "ConfigParameterName"}
    assert "DeletionPolicy" not in seed  # deleting the seed deletes nothing: its handler ignores Delete
    assert resources["ScrapePushFunction"]["DependsOn"] == "ConfigParameterSeed"


def test_the_seed_may_create_the_parameter_but_never_overwrite_or_delete_it() -> None:
    function = template()["Resources"]["ConfigSeedFunction"]["Properties"]
    region = "${AWS::Region}:${AWS::AccountId}"
    arn = {"Fn::Sub": f"arn:${{AWS::Partition}}:ssm:{region}:parameter${{ConfigParameterName}}"}
    assert function["Policies"] == [
        {
            "Statement": [
                {
                    "Sid": "CreateConfigParameter",
                    "Effect": "Allow",
                    "Action": "ssm:PutParameter",
                    "Resource": arn,
                },
                {
                    "Sid": "NeverOverwriteConfigParameter",
                    "Effect": "Deny",
                    "Action": "ssm:PutParameter",
                    "Resource": arn,
                    "Condition": {"StringEquals": {"ssm:Overwrite": "true"}},
                },
            ]
        }
    ]
    code = function["InlineCode"]  # run against an emulator in tests/functional/test_config_seed.py
    assert "Overwrite=False" in code and "Overwrite=True" not in code and "delete_parameter" not in code


def test_no_function_but_the_seed_may_write_parameters_and_none_may_delete_them() -> None:
    writers = set()
    for name, resource in template()["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for written in policy["Statement"]:
                statement = written["Fn::If"][1] if "Fn::If" in written else written
                actions = _as_list(statement["Action"])
                assert not any(a in ("ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:*") for a in actions)
                if statement["Effect"] == "Allow" and "ssm:PutParameter" in actions:
                    writers.add(name)
    assert writers == {"ConfigSeedFunction"}


def test_push_uses_the_tier_the_template_creates_the_parameter_in() -> None:
    tier = template()["Resources"]["ConfigParameterSeed"]["Properties"]["Tier"]
    assert parser().parse_args(["push", "c.yaml", "--parameter", "/p"]).tier == tier == DEFAULT_TIER


def test_the_demo_configuration_is_valid() -> None:
    config = parse_config((ROOT / "events" / "demo-config.yaml").read_text()).config
    assert config.scrape_configs[0].job_name == "demo"


GRANTS = {
    # parameter: (its condition, the statement granted when it holds: actions, resource)
    "EnableEc2Discovery": (
        "UseEc2Discovery",
        "DiscoverEc2Instances",
        ["ec2:DescribeInstances", "ec2:DescribeAvailabilityZones"],
        "*",
    ),
    "EnableEcsDiscovery": (
        "UseEcsDiscovery",
        "DiscoverEcsTasks",
        [
            "ecs:ListClusters",
            "ecs:DescribeClusters",
            "ecs:ListServices",
            "ecs:DescribeServices",
            "ecs:ListTasks",
            "ecs:DescribeTasks",
            "ecs:DescribeContainerInstances",
            "ec2:DescribeInstances",
            "ec2:DescribeNetworkInterfaces",
        ],
        "*",
    ),
    "EnableLightsailDiscovery": (
        "UseLightsailDiscovery",
        "DiscoverLightsailInstances",
        ["lightsail:GetInstances"],
        "*",
    ),
    "EnableCloudMapDiscovery": (
        "UseCloudMapDiscovery",
        "DiscoverCloudMapInstances",
        [
            "servicediscovery:DiscoverInstances",
            "servicediscovery:ListNamespaces",
            "servicediscovery:ListServices",
        ],
        "*",
    ),
    "ApiGatewayInvokeArns": (
        "HasApiGatewayArns",
        "ScrapeApiGatewayWithIam",
        ["execute-api:Invoke"],
        {"Ref": "ApiGatewayInvokeArns"},
    ),
    "FunctionUrlArns": (
        "HasFunctionUrlArns",
        "ScrapeFunctionUrlsWithIam",
        ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"],
        {"Ref": "FunctionUrlArns"},
    ),
    "AssumableRoleArns": (
        "HasAssumableRoles",
        "AssumeConfiguredRoles",
        ["sts:AssumeRole"],
        {"Ref": "AssumableRoleArns"},
    ),
}


@pytest.mark.parametrize("parameter", GRANTS)
def test_each_discovery_and_scrape_target_parameter_grants_exactly_its_actions_and_nothing_when_off(
    parameter: str,
) -> None:
    t = template()
    condition, sid, actions, resource = GRANTS[parameter]
    statements = t["Resources"]["ScrapePushFunction"]["Properties"]["Policies"][0]["Statement"]
    (granted,) = [s["Fn::If"] for s in statements if "Fn::If" in s and s["Fn::If"][1]["Sid"] == sid]
    assert granted[0] == condition
    assert granted[2] == {"Ref": "AWS::NoValue"}  # when off: no statement at all
    statement = granted[1]
    assert statement["Effect"] == "Allow"
    assert _as_list(statement["Action"]) == actions
    assert statement["Resource"] == resource
    assert set(statement) == {"Sid", "Effect", "Action", "Resource"}
    # the condition holds only for the parameter's non-default value
    holds = t["Conditions"][condition]
    default = t["Parameters"][parameter]["Default"]
    if t["Parameters"][parameter]["Type"] == "CommaDelimitedList":
        assert default == ""
        assert holds == {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": parameter}]}, ""]}]}
    else:
        assert default == "false"
        assert holds == {"Fn::Equals": [{"Ref": parameter}, "true"]}


def test_no_unconditional_statement_grants_a_discovery_or_scrape_action() -> None:
    statements = template()["Resources"]["ScrapePushFunction"]["Properties"]["Policies"][0]["Statement"]
    always = [a for s in statements if "Fn::If" not in s for a in _as_list(s["Action"])]
    prefixes = ("ec2:", "ecs:", "lightsail:", "servicediscovery:", "execute-api:", "lambda:", "sts:")
    assert [a for a in always if a.startswith(prefixes)] == []


def test_put_metric_data_for_cloudwatch_otlp_is_granted_only_when_enabled() -> None:
    statements = template()["Resources"]["ScrapePushFunction"]["Properties"]["Policies"][0]["Statement"]
    (otlp,) = [
        s["Fn::If"] for s in statements if "Fn::If" in s and s["Fn::If"][1]["Sid"] == "PutMetricsThroughOtlp"
    ]
    assert otlp[0] == "UseCloudWatchOtlp" and otlp[2] == {"Ref": "AWS::NoValue"}
    assert otlp[1] == {
        "Sid": "PutMetricsThroughOtlp",
        "Effect": "Allow",
        "Action": "cloudwatch:PutMetricData",
        "Resource": "*",
    }
    assert template()["Conditions"]["UseCloudWatchOtlp"] == {
        "Fn::Equals": [{"Ref": "EnableCloudWatchOtlp"}, "true"]
    }
    assert template()["Parameters"]["EnableCloudWatchOtlp"]["Default"] == "false"


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
    # The state store, and the per-sink delivery lease (conditional PutItem, conditional DeleteItem).
    assert statement["Action"] == [
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
    ]
    assert statement["Resource"] == {"Fn::GetAtt": "StateTable.Arn"}


def _statements() -> list[dict[str, Any]]:
    """The function's policy statements, conditional ones included (as if their condition held)."""
    function = template()["Resources"]["ScrapePushFunction"]["Properties"]
    statements: list[dict[str, Any]] = function["Policies"][0]["Statement"]
    return [s["Fn::If"][1] if "Fn::If" in s else s for s in statements]


def _statement(sid: str) -> dict[str, Any]:
    return next(s for s in _statements() if s["Sid"] == sid)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_backlog_bucket_is_private_encrypted_unversioned_and_retained() -> None:
    t = template()
    bucket = t["Resources"]["BacklogBucket"]
    assert bucket["Type"] == "AWS::S3::Bucket"
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    props = bucket["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "Fn::If": [
            "HasBacklogKmsKey",
            {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Ref": "BacklogKmsKeyArn"}},
            {"SSEAlgorithm": "AES256"},
        ]
    }
    assert rule["BucketKeyEnabled"] == {"Fn::If": ["HasBacklogKmsKey", True, {"Ref": "AWS::NoValue"}]}
    assert t["Parameters"]["BacklogKmsKeyArn"]["Default"] == ""
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "VersioningConfiguration" not in props


def test_backlog_bucket_lifecycle_expires_each_prefix_by_its_parameter() -> None:
    t = template()
    rules = t["Resources"]["BacklogBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert all(rule["Status"] == "Enabled" for rule in rules)
    expiry = {rule["Prefix"]: rule["ExpirationInDays"] for rule in rules if "Prefix" in rule}
    assert expiry == {
        "backlog/": {"Ref": "BacklogRetentionDays"},
        "rejected/": {"Ref": "RejectedRetentionDays"},
    }
    assert t["Parameters"]["BacklogRetentionDays"]["Default"] == 15
    assert t["Parameters"]["RejectedRetentionDays"]["Default"] == 30
    aborts = [rule.get("AbortIncompleteMultipartUpload") for rule in rules]
    assert [a for a in aborts if a] == [{"DaysAfterInitiation": 1}]


def test_backlog_bucket_policy_denies_requests_without_tls() -> None:
    policy = template()["Resources"]["BacklogBucketPolicy"]
    assert policy["Type"] == "AWS::S3::BucketPolicy"
    assert policy["Properties"]["Bucket"] == {"Ref": "BacklogBucket"}
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Resource"] == [
        {"Fn::GetAtt": "BacklogBucket.Arn"},
        {"Fn::Sub": "${BacklogBucket.Arn}/*"},
    ]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_function_is_told_the_backlog_bucket() -> None:
    env = template()["Resources"]["ScrapePushFunction"]["Properties"]["Environment"]["Variables"]
    assert env[BACKLOG_BUCKET_ENV] == {"Ref": "BacklogBucket"}


def test_backlog_s3_access_is_limited_to_its_prefixes() -> None:
    s3 = [s for s in _statements() if any(a.startswith("s3:") for a in _as_list(s["Action"]))]
    assert {s["Sid"] for s in s3} == {"BacklogList", "BacklogObjects", "RejectedObjects"}
    assert not any("*" in a for s in s3 for a in _as_list(s["Action"]))
    # No object access to the whole bucket, and nothing outside it.
    assert all(s["Resource"] != {"Fn::Sub": "${BacklogBucket.Arn}/*"} for s in s3)
    assert all(s["Resource"] != "*" for s in s3)

    listing = _statement("BacklogList")
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Resource"] == {"Fn::GetAtt": "BacklogBucket.Arn"}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["backlog/*", "rejected/*"]}}

    objects = _statement("BacklogObjects")
    assert sorted(objects["Action"]) == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert objects["Resource"] == {"Fn::Sub": "${BacklogBucket.Arn}/backlog/*"}

    rejected = _statement("RejectedObjects")
    assert rejected["Action"] == "s3:PutObject"
    assert rejected["Resource"] == {"Fn::Sub": "${BacklogBucket.Arn}/rejected/*"}


def test_backlog_kms_key_is_usable_through_s3_only_and_only_when_set() -> None:
    statements = template()["Resources"]["ScrapePushFunction"]["Properties"]["Policies"][0]["Statement"]
    conditional = {s["Fn::If"][1]["Sid"]: s["Fn::If"][0] for s in statements if "Fn::If" in s}
    assert conditional["BacklogKmsKeyViaS3Only"] == "HasBacklogKmsKey"
    statement = _statement("BacklogKmsKeyViaS3Only")
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Resource"] == {"Ref": "BacklogKmsKeyArn"}
    assert statement["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}
    }


def test_schedule_retries_delivery_briefly_and_dead_letters_missed_ticks() -> None:
    t = template()
    event = t["Resources"]["ScrapePushFunction"]["Properties"]["Events"]["Schedule"]["Properties"]
    assert event["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60}
    assert event["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": "ScheduleDeadLetterQueue.Arn"}}
    queue = t["Resources"]["ScheduleDeadLetterQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"] == {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600}


def test_failed_invocations_are_not_retried_and_go_to_the_dead_letter_queue() -> None:
    config = template()["Resources"]["ScrapePushFunction"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 0
    assert config["MaximumEventAgeInSeconds"] == 60
    assert config["DestinationConfig"] == {
        "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": "ScheduleDeadLetterQueue.Arn"}}
    }


def test_alarms_watch_the_backlog_age_lost_samples_and_missed_cycles() -> None:
    t = template()
    resources = t["Resources"]
    queue_name = {"Fn::GetAtt": "ScheduleDeadLetterQueue.QueueName"}
    self_metrics = {
        "Namespace": {"Fn::Sub": "${CloudWatchNamespace}/Self"},
        "Dimensions": [{"Name": "service", "Value": "scrape-push"}],
    }
    actions = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    expected = {
        "BacklogAgeAlarm": {
            **self_metrics,
            "MetricName": "BacklogOldestAgeSeconds",
            "Statistic": "Maximum",
            "Period": 60,
            "EvaluationPeriods": 5,
            "DatapointsToAlarm": 5,
            "Threshold": {"Ref": "BacklogAgeAlarmSeconds"},
        },
        "SamplesLostAlarm": {
            **self_metrics,
            "MetricName": "SamplesLost",
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 0,
        },
        "MissedCyclesAlarm": {
            "Namespace": "AWS/SQS",
            "Dimensions": [{"Name": "QueueName", "Value": queue_name}],
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Statistic": "Maximum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 0,
        },
    }
    for name, fields in expected.items():
        assert resources[name]["Type"] == "AWS::CloudWatch::Alarm"
        props = resources[name]["Properties"]
        assert {key: props.get(key) for key in fields} == fields, name
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["TreatMissingData"] == "notBreaching"
        assert props["AlarmActions"] == props["OKActions"] == actions
    assert t["Parameters"]["BacklogAgeAlarmSeconds"]["Default"] == 900
    assert t["Parameters"]["AlarmTopicArn"]["Default"] == ""


def test_outputs_name_the_backlog_bucket_and_the_dead_letter_queue() -> None:
    outputs = template()["Outputs"]
    assert outputs["BacklogBucketName"]["Value"] == {"Ref": "BacklogBucket"}
    assert outputs["ScheduleDeadLetterQueueUrl"]["Value"] == {"Ref": "ScheduleDeadLetterQueue"}


def _published_self_metrics(capsys: pytest.CaptureFixture[str]) -> set[str]:
    """Every metric name selfmetrics.py writes (its EMF documents), sinks with a backlog included."""
    from scrape_push import selfmetrics
    from scrape_push.config.model import Config
    from scrape_push.config.source import LoadedConfig
    from scrape_push.pipeline import CycleResult
    from scrape_push.sinks.base import BacklogReport, SinkReport

    capsys.readouterr()
    report = SinkReport("cloudwatch/N", "cloudwatch", backlog=BacklogReport())
    selfmetrics.publish(CycleResult(sinks=[report]), LoadedConfig(Config(), "test", "0"), "ScrapePush/Self")
    selfmetrics.publish_shards("ScrapePush/Self", **dict.fromkeys(selfmetrics.SHARD_METRICS, 1))
    names = set()
    for line in capsys.readouterr().out.splitlines():
        for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
            names |= {metric["Name"] for metric in directive["Metrics"]}
    return names


def _dashboard() -> dict[str, Any]:
    body = template()["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    numbers = {"Timeout", "TargetsDownAlarmThreshold", "BacklogAgeAlarmSeconds"}
    text = re.sub(r"\$\{([^}]+)\}", lambda m: "60" if m.group(1) in numbers else "X", body)
    dashboard: dict[str, Any] = json.loads(text)
    return dashboard


def _dashboard_metric_names(dashboard: dict[str, Any]) -> set[str]:
    names = set()
    for widget in dashboard["widgets"]:
        for row in widget["properties"].get("metrics", []):
            if isinstance(row[0], dict):
                names |= set(re.findall(r'MetricName=\\?"(\w+)', row[0]["expression"]))
            else:
                names.add(row[1])
    return names


def test_the_dashboard_shows_what_an_operator_watches(capsys: pytest.CaptureFixture[str]) -> None:
    dashboard = _dashboard()
    shown = _dashboard_metric_names(dashboard)
    wanted = {
        "TargetsUp",
        "TargetsDown",
        "SamplesScraped",
        "SamplesSent",
        "SamplesLost",
        "BacklogOldestAgeSeconds",
        "BacklogBytes",
        "BacklogSamples",
        "CycleDuration",
        "ConfigInvalid",
        "ShardsPlanned",
        "ShardsSent",
        "ShardsLate",
        "ShardsFailed",
    }
    assert wanted <= shown
    assert shown <= _published_self_metrics(capsys), (
        "the dashboard names a metric selfmetrics.py never writes"
    )
    cycle = next(w for w in dashboard["widgets"] if "Cycle duration" in w["properties"].get("title", ""))
    assert cycle["properties"]["annotations"]["horizontal"] == [{"label": "function timeout", "value": 60}]
    body = template()["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert "${Timeout}" in body  # the line follows the Timeout parameter


def test_alarms_on_invalid_config_targets_down_and_slow_cycles_notify_the_topic(
    capsys: pytest.CaptureFixture[str],
) -> None:
    t = template()
    resources = t["Resources"]
    published = _published_self_metrics(capsys)
    actions = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        assert props["AlarmActions"] == props["OKActions"] == actions, name
        metrics = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        for metric in [props, *metrics]:
            if metric.get("Namespace") == {"Fn::Sub": "${CloudWatchNamespace}/Self"}:
                assert metric["MetricName"] in published, name
    config = resources["ConfigInvalidAlarm"]["Properties"]
    assert (config["MetricName"], config["Statistic"], config["Threshold"]) == ("ConfigInvalid", "Maximum", 0)
    down = resources["TargetsDownAlarm"]["Properties"]
    assert (down["MetricName"], down["Threshold"]) == ("TargetsDown", {"Ref": "TargetsDownAlarmThreshold"})
    assert (down["EvaluationPeriods"], down["DatapointsToAlarm"]) == (5, 5)
    assert t["Parameters"]["TargetsDownAlarmThreshold"]["Default"] == 0
    cycle = resources["CycleDurationAlarm"]["Properties"]
    duration, share = cycle["Metrics"]
    assert duration["MetricStat"]["Metric"]["MetricName"] == "CycleDuration"
    assert share["Expression"] == {"Fn::Sub": "100 * duration / ${Timeout}"} and share["ReturnData"] is True
    assert cycle["Threshold"] == {"Ref": "CycleDurationAlarmPercent"}
    assert t["Parameters"]["CycleDurationAlarmPercent"]["Default"] == 80


def _function_statements() -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = template()["Resources"]["ScrapePushFunction"]["Properties"][
        "Policies"
    ][0]["Statement"]
    return statements


def test_the_shard_queue_is_encrypted_outlives_six_timeouts_and_dead_letters_after_one_retry() -> None:
    t = template()
    queue = t["Resources"]["ShardQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert (queue["DeletionPolicy"], queue["UpdateReplacePolicy"]) == ("Delete", "Delete")  # no data in it
    props = queue["Properties"]
    assert props["SqsManagedSseEnabled"] is True
    # At least six times any Timeout the template allows, as AWS advises (and never below it,
    # which Lambda refuses for an event source mapping).
    assert props["VisibilityTimeout"] >= 6 * t["Parameters"]["Timeout"]["MaxValue"]
    assert props["MessageRetentionPeriod"] > props["VisibilityTimeout"]  # a killed shard comes back
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": "ShardDeadLetterQueue.Arn"},
        "maxReceiveCount": MAX_RECEIVES,
    }
    assert "MaximumMessageSize" not in props  # SQS's default: 1 MiB, what message.py allows
    dead = t["Resources"]["ShardDeadLetterQueue"]
    assert dead["Type"] == "AWS::SQS::Queue"
    # A dead-lettered message keeps its first enqueue time: the DLQ must keep it longer.
    assert dead["Properties"] == {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600}


def test_the_event_source_mapping_hands_one_shard_per_invocation_and_reads_partial_failures() -> None:
    t = template()
    mapping = t["Resources"]["ShardEventSource"]
    assert mapping["Type"] == "AWS::Lambda::EventSourceMapping"
    assert mapping["Properties"] == {
        "EventSourceArn": {"Fn::GetAtt": "ShardQueue.Arn"},
        "FunctionName": {"Ref": "ScrapePushFunction"},
        "Enabled": True,
        "BatchSize": 1,
        "MaximumBatchingWindowInSeconds": 0,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": {"Ref": "ShardMaxConcurrency"}},
    }
    concurrency = t["Parameters"]["ShardMaxConcurrency"]
    assert (concurrency["MinValue"], concurrency["MaxValue"]) == (2, 1000)  # Lambda's bounds
    count = t["Parameters"]["ShardCount"]
    assert (count["Default"], count["MinValue"], count["MaxValue"]) == (0, 0, MAX_SHARDS)
    events = t["Resources"]["ScrapePushFunction"]["Properties"]["Events"]
    # Not SAM's SQS event: it would attach a managed policy on every queue of the account.
    assert all(event["Type"] != "SQS" for event in events.values())


def test_the_function_is_told_its_shard_queue_count_and_concurrency() -> None:
    env = template()["Resources"]["ScrapePushFunction"]["Properties"]["Environment"]["Variables"]
    assert env[SHARD_QUEUE_URL_ENV] == {"Ref": "ShardQueue"}
    assert env[SHARD_COUNT_ENV] == {"Ref": "ShardCount"}
    assert env[SHARD_CONCURRENCY_ENV] == {"Ref": "ShardMaxConcurrency"}


def test_shard_queue_access_is_the_function_s_own_queue_only() -> None:
    statements = _function_statements()
    sqs = [s for s in statements if any(str(a).startswith("sqs:") for a in _actions(s))]
    assert sqs == [
        {
            "Sid": "SendShardMessages",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": "ShardQueue.Arn"},
        },
        {
            "Sid": "ReceiveShardMessages",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            ],
            "Resource": {"Fn::GetAtt": "ShardQueue.Arn"},
        },
    ]
    properties = template()["Resources"]["ScrapePushFunction"]["Properties"]
    assert len(properties["Policies"]) == 1  # no managed policy beside the statements


def _actions(statement: Any) -> list[str]:
    if not isinstance(statement, dict) or "Action" not in statement:
        return []
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_an_alarm_fires_on_late_failed_or_dead_lettered_shards(capsys: pytest.CaptureFixture[str]) -> None:
    t = template()
    props = t["Resources"]["ShardsAlarm"]["Properties"]
    by_id = {m["Id"]: m for m in props["Metrics"]}
    assert by_id["late"]["MetricStat"]["Metric"]["MetricName"] == "ShardsLate"
    assert by_id["failed"]["MetricStat"]["Metric"]["MetricName"] == "ShardsFailed"
    assert {by_id["late"]["MetricStat"]["Stat"], by_id["failed"]["MetricStat"]["Stat"]} == {"Sum"}
    dead = by_id["dead"]["MetricStat"]["Metric"]
    assert dead["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": "ShardDeadLetterQueue.QueueName"}}
    ]
    assert by_id["shards"]["Expression"] == "FILL(late, 0) + FILL(failed, 0) + FILL(dead, 0)"
    assert by_id["shards"]["ReturnData"] is True
    assert (props["Threshold"], props["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert {"ShardsLate", "ShardsFailed"} <= _published_self_metrics(capsys)


def test_targets_down_adds_up_every_shard_s_invocation() -> None:
    down = template()["Resources"]["TargetsDownAlarm"]["Properties"]
    assert down["Statistic"] == "Sum"
    widget = next(w for w in _dashboard()["widgets"] if "Targets up" in w["properties"].get("title", ""))
    assert widget["properties"]["stat"] == "Sum"
