"""Config validation: named valid and invalid documents, asserting the exact messages."""

from __future__ import annotations

import pytest
from scrape_push.config.errors import ConfigError
from scrape_push.config.source import parse_config

VALID_MINIMAL = """
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["10.0.0.1:9100"]
cloudwatch:
  - namespace: ScrapePush
"""

VALID_FULL = """
global:
  scrape_interval: 30s
  scrape_timeout: 5s
  evaluation_interval: 1m
  external_labels: {region: eu-west-1}
scrape_configs:
  - job_name: api
    scrape_interval: 1m
    scrape_timeout: 10s
    metrics_path: /probe
    scheme: https
    params: {module: [http_2xx], target: ["example.com"]}
    honor_labels: true
    honor_timestamps: false
    body_size_limit: 10MB
    static_configs:
      - targets: ["api-1:8080", "[::1]:9090", "host-without-port"]
        labels: {team: payments}
cloudwatch:
  - name: main
    namespace: Team/Payments
    region: eu-west-1
    dimensions: [job, instance, team]
    storage_resolution: 1
runtime:
  max_concurrent_scrapes: 8
  max_concurrent_requests: 2
"""


def test_minimal_document_gets_prometheus_defaults() -> None:
    config = parse_config(VALID_MINIMAL).config
    job = config.scrape_configs[0]
    assert job.metrics_path == "/metrics"
    assert job.scheme == "http"
    assert job.honor_labels is False
    assert job.honor_timestamps is True
    assert config.sinks["cloudwatch"][0].dimensions == ("job", "instance")
    assert config.sinks["cloudwatch"][0].storage_resolution == 60


def test_full_document_decodes_every_key() -> None:
    config = parse_config(VALID_FULL).config
    assert config.global_.scrape_interval == 30.0
    assert config.global_.external_labels == {"region": "eu-west-1"}
    job = config.scrape_configs[0]
    assert (job.scrape_interval, job.scrape_timeout) == (60.0, 10.0)
    assert job.params == {"module": ("http_2xx",), "target": ("example.com",)}
    assert job.body_size_limit == 10 * 1024 * 1024
    assert job.static_configs[0].targets == ("api-1:8080", "[::1]:9090", "host-without-port")
    assert config.sinks["cloudwatch"][0].storage_resolution == 1
    assert config.runtime.max_concurrent_scrapes == 8


def test_json_is_accepted() -> None:
    text = '{"scrape_configs": [{"job_name": "a", "static_configs": [{"targets": ["h:1"]}]}]}'
    assert parse_config(text).config.scrape_configs[0].job_name == "a"


INVALID = {
    "unknown key in a static config": (
        """
scrape_configs:
  - job_name: a
  - job_name: b
  - job_name: c
    static_configs:
      - targts: ["h:1"]
""",
        "scrape_configs[2].static_configs[0].targts: unknown key; did you mean 'targets'? (line 7)",
    ),
    "unknown top-level key": (
        "scrape_config: []\n",
        "scrape_config: unknown key; did you mean 'scrape_configs'? (line 1)",
    ),
    "unknown key, nothing near it": (
        "scrape_configs: [{job_name: a, colour: red}]\n",
        "scrape_configs[0].colour: unknown key (line 1)",
    ),
    "wrong type for a list": (
        "scrape_configs: {job_name: a}\n",
        "scrape_configs: expected a list, got a mapping (line 1)",
    ),
    "wrong type for a boolean": (
        "scrape_configs:\n  - job_name: a\n    honor_labels: 'yes'\n",
        "scrape_configs[0].honor_labels: expected a boolean, got a string (line 3)",
    ),
    "missing job_name": (
        "scrape_configs:\n  - metrics_path: /m\n",
        "scrape_configs[0].job_name: missing required key (line 2)",
    ),
    "bad duration": (
        "scrape_configs:\n  - job_name: a\n    scrape_timeout: 10\n",
        "scrape_configs[0].scrape_timeout: expected a duration such as '10s', got int (line 3)",
    ),
    "bad duration unit": (
        "global:\n  scrape_interval: 1x\n",
        "global.scrape_interval: not a valid duration string: '1x' (e.g. '10s', '1m30s', '500ms') (line 2)",
    ),
    "timeout above interval": (
        "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n",
        "scrape_configs[0].scrape_timeout: scrape_timeout (10s) is greater than scrape_interval (5s) "
        "(line 4)",
    ),
    "bad scheme": (
        "scrape_configs:\n  - job_name: a\n    scheme: ftp\n",
        "scrape_configs[0].scheme: must be one of 'http', 'https', got 'ftp' (line 3)",
    ),
    "duplicate job": (
        "scrape_configs:\n  - job_name: a\n  - job_name: a\n",
        "scrape_configs[1].job_name: duplicate job_name 'a', first at scrape_configs[0].job_name on line 2 "
        "(line 3)",
    ),
    "empty target": (
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['']\n",
        "scrape_configs[0].static_configs[0].targets[0]: must not be empty (line 4)",
    ),
    "bad label name": (
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - labels: {bad-name: x}\n",
        "scrape_configs[0].static_configs[0].labels[\"bad-name\"]: invalid label name 'bad-name' (line 4)",
    ),
    "bad size": (
        "scrape_configs:\n  - job_name: a\n    body_size_limit: 10 MB\n",
        "scrape_configs[0].body_size_limit: not a valid size: '10 MB' (e.g. '512KB', '10MB') (line 3)",
    ),
    "AWS namespace": (
        "cloudwatch:\n  - namespace: AWS/EC2\n",
        "cloudwatch[0].namespace: must be 1-255 characters of letters, digits and . - _ / # : space, "
        "not starting with 'AWS/' or ':' (line 2)",
    ),
    "too many dimensions": (
        "cloudwatch:\n  - namespace: N\n    dimensions: [" + ", ".join(f"l{i}" for i in range(31)) + "]\n",
        "cloudwatch[0].dimensions: 31 dimensions configured; CloudWatch allows at most 30 (line 3)",
    ),
    "storage resolution": (
        "cloudwatch:\n  - namespace: N\n    storage_resolution: 10\n",
        "cloudwatch[0].storage_resolution: must be one of 1, 60, got 10 (line 3)",
    ),
    "duplicate sink": (
        "cloudwatch:\n  - namespace: N\n  - namespace: N\n",
        "cloudwatch[1].name: duplicate sink name 'N'; give each a distinct 'name', first at cloudwatch[0] "
        "on line 2 (line 3)",
    ),
    "invalid YAML": (
        "scrape_configs:\n  - job_name: a\n   metrics_path: /x\n",
        "<document>: invalid YAML: expected <block end>, but found '<block mapping start>'; check the "
        "indentation (while parsing a block collection at line 2) (line 3, column 4)",
    ),
    "duplicate YAML key": (
        "scrape_configs: []\nscrape_configs: []\n",
        "scrape_configs: duplicate key, first on line 1 (line 2)",
    ),
    "invalid JSON": (
        '{"scrape_configs": [}',
        "<document>: invalid JSON: Expecting value (line 1, column 21)",
    ),
    "document is a list": ("- a\n- b\n", "<document>: expected a mapping, got a list"),
}


@pytest.mark.parametrize("text,message", INVALID.values(), ids=INVALID.keys())
def test_invalid_documents_name_the_key_path(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert [str(p) for p in caught.value.problems] == [message]


def test_every_problem_is_reported_not_only_the_first() -> None:
    text = "scrape_configs:\n  - job_name: a\n    bogus: 1\n  - job_name: 3\ncloudwatch:\n  - {}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "SSM parameter /x")
    assert [str(p) for p in caught.value.problems] == [
        "scrape_configs[0].bogus: unknown key (line 3)",
        "scrape_configs[1].job_name: expected a string, got an integer (line 4)",
        "cloudwatch[0].namespace: missing required key (line 6)",
    ]
    assert str(caught.value).startswith("invalid configuration in SSM parameter /x: ")
