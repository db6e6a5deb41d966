"""validate lists every problem at once, each at the key at fault, with its line (and column)."""

from __future__ import annotations

import json

import pytest
from scrape_push.config.document import MAX_DOCUMENT_NODES
from scrape_push.config.errors import ConfigError
from scrape_push.config.source import parse_config


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return [str(p) for p in caught.value.problems]


def test_a_duplicate_job_a_duplicate_sink_and_a_global_timeout_come_out_in_one_run() -> None:
    text = (
        "global:\n"
        "  scrape_interval: 10s\n"
        "  scrape_timeout: 20s\n"
        "scrape_configs:\n"
        "  - job_name: a\n"
        "  - job_name: a\n"
        "cloudwatch:\n"
        "  - namespace: N\n"
        "  - namespace: N\n"
    )
    assert problems(text) == [
        # The key at fault is the global one, not the job that inherits it.
        "global.scrape_timeout: scrape_timeout (20s) is greater than scrape_interval (10s) (line 3)",
        "scrape_configs[1].job_name: duplicate job_name 'a', first at scrape_configs[0].job_name on line 5 "
        "(line 6)",
        "cloudwatch[1].name: duplicate sink name 'N'; give each a distinct 'name', first at cloudwatch[0] "
        "on line 8 (line 9)",
    ]


def test_one_bad_field_does_not_hide_the_other_problems_of_its_object() -> None:
    text = "scrape_configs:\n  - job_name: ''\n    scheme: ftp\n"
    text += "    metrics_path: metrics\n    sample_limit: -1\n"
    assert problems(text) == [
        "scrape_configs[0].job_name: must not be empty (line 2)",
        "scrape_configs[0].scheme: must be one of 'http', 'https', got 'ftp' (line 3)",
        "scrape_configs[0].metrics_path: must start with '/' (line 4)",
        "scrape_configs[0].sample_limit: must not be negative (0 means no limit) (line 5)",
    ]


def test_a_bad_field_in_one_job_does_not_hide_problems_of_the_whole_document() -> None:
    text = (
        "scrape_configs:\n"
        "  - job_name: a\n"
        "    scheme: ftp\n"
        "  - job_name: a\n"
        "graphite:\n"
        "  - address: carbon\n"
        "  - address: carbon\n"
    )
    assert problems(text) == [
        "scrape_configs[0].scheme: must be one of 'http', 'https', got 'ftp' (line 3)",
        "scrape_configs[1].job_name: duplicate job_name 'a', first at scrape_configs[0].job_name on line 2 "
        "(line 4)",
        "graphite[1].name: duplicate sink name 'carbon'; give each a distinct 'name', first at graphite[0] "
        "on line 6 (line 7)",
    ]


def test_an_item_missing_a_required_key_keeps_the_positions_of_the_others() -> None:
    text = "scrape_configs:\n  - metrics_path: /m\n  - job_name: a\n  - job_name: a\n"
    assert problems(text) == [
        "scrape_configs[0].job_name: missing required key (line 2)",
        "scrape_configs[2].job_name: duplicate job_name 'a', first at scrape_configs[1].job_name on line 3 "
        "(line 4)",
    ]


def test_a_rule_spanning_fields_waits_for_a_bad_field_to_be_fixed() -> None:
    # The action is wrong: whether target_label is needed cannot be judged yet.
    text = "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: explode\n"
    assert problems(text) == [
        'scrape_configs[0].relabel_configs[0].action: unknown relabel action "explode" (line 4)'
    ]


def test_a_near_miss_key_gets_a_suggestion() -> None:
    text = "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targts: [h:1]\n"
    assert problems(text) == [
        "scrape_configs[0].static_configs[0].targts: unknown key; did you mean 'targets'? (line 4)"
    ]


def test_a_near_miss_of_a_plugin_key_gets_a_suggestion() -> None:
    text = (
        "scrape_configs:\n"
        "  - job_name: a\n"
        "    ec2_sd_config: [{port: 9100}]\n"
        "remote_writes:\n"
        "  - url: https://rw.example/api/v1/write\n"
    )
    assert problems(text) == [
        "scrape_configs[0].ec2_sd_config: unknown key; did you mean 'ec2_sd_configs'? (line 3)",
        "remote_writes: unknown key; did you mean 'remote_write'? (line 4)",
    ]


def test_problems_inside_plugin_sections_name_their_key_path_and_line() -> None:
    text = (
        "scrape_configs:\n"
        "  - job_name: a\n"
        "    ec2_sd_configs:\n"
        "      - port: 0\n"
        "      - {}\n"
        "      - filters: [{name: tag:a}]\n"
        "remote_write:\n"
        "  - url: https://rw.example/api/v1/write\n"
        "  - url: ftp://rw.example\n"
        "graphite: {address: carbon}\n"
        "cloudwatch:\n"
        "  - name: cw\n"
    )
    assert problems(text) == [
        "scrape_configs[0].ec2_sd_configs[0].port: must be between 1 and 65535 (line 4)",
        "scrape_configs[0].ec2_sd_configs[2].filters[0].values: "
        "EC2 SD configuration filter values cannot be empty (line 6)",
        "remote_write[1].url: must be an http:// or https:// URL with a host (line 9)",
        "graphite: expected a list, got a mapping (line 10)",
        "cloudwatch[0].namespace: missing required key (line 12)",
    ]


def test_a_sink_name_is_unique_across_sections_and_named_where_the_document_has_it() -> None:
    text = (
        "remote_write:\n"
        "  - url: https://rw.example/api/v1/write\n"
        "cloudwatch:\n"
        "  - name: cw\n"
        "  - namespace: N\n"
        "    name: rw.example/api/v1/write\n"
    )
    assert problems(text) == [
        "remote_write[0].name: duplicate sink name 'rw.example/api/v1/write'; give each a distinct 'name', "
        "first at cloudwatch[1] on line 5 (line 2)",
        "cloudwatch[0].namespace: missing required key (line 4)",
    ]


def test_json_configurations_get_line_numbers() -> None:
    document = {
        "scrape_configs": [{"job_name": "a", "scheme": "ftp"}],
        "cloudwatch": [{"namespace": "N", "dimensionz": ["job"]}],
    }
    assert problems(json.dumps(document, indent=2)) == [
        "scrape_configs[0].scheme: must be one of 'http', 'https', got 'ftp' (line 5)",
        "cloudwatch[0].dimensionz: unknown key; did you mean 'dimensions'? (line 11)",
    ]


def test_json_indented_with_tabs_is_read_too() -> None:
    text = json.dumps(
        {"scrape_configs": [{"job_name": "a"}], "cloudwatch": [{"namespace": "N"}]}, indent="\t"
    )
    assert parse_config(text).config.scrape_configs[0].job_name == "a"


def test_a_duplicate_json_key_is_refused_with_its_line() -> None:
    text = '{\n  "scrape_configs": [],\n  "scrape_configs": []\n}'
    assert problems(text) == ["scrape_configs: duplicate key, first on line 2 (line 3)"]


def test_a_yaml_flow_mapping_is_not_mistaken_for_json() -> None:
    assert parse_config("{scrape_configs: [{job_name: a}]}").config.scrape_configs[0].job_name == "a"


SYNTAX = {
    "tab": (
        "scrape_configs:\n\t- job_name: a\n",
        "found character '\\t' that cannot start any token; indent with spaces, not tabs",
    ),
    "colon": (
        "global:\n  external_labels: {a: b: c}\n",
        "expected ',' or '}', but got ':'; quote a value that contains ': '",
    ),
    "colon in a block": (
        "global:\n  external_labels:\n    a: b: c\n",
        "mapping values are not allowed here; quote a value that contains ': '",
    ),
    "quote": (
        'scrape_configs: [{job_name: "a}]\n',
        "found unexpected end of stream (while scanning a quoted scalar at line 1)",
    ),
}


@pytest.mark.parametrize("text,reason", SYNTAX.values(), ids=SYNTAX.keys())
def test_yaml_syntax_errors_are_one_line_with_line_and_column(text: str, reason: str) -> None:
    (problem,) = problems(text)
    assert problem.startswith(f"<document>: invalid YAML: {reason} (line ")
    assert ", column " in problem and "\n" not in problem


def test_a_merge_key_may_be_overridden_but_a_key_may_not_be_repeated() -> None:
    text = (
        "scrape_configs:\n"
        "  - &base {job_name: a, metrics_path: /m}\n"
        "  - <<: *base\n"
        "    job_name: b\n"
        "cloudwatch: [{namespace: N}]\n"
    )
    jobs = parse_config(text).config.scrape_configs
    assert [(j.job_name, j.metrics_path) for j in jobs] == [("a", "/m"), ("b", "/m")]


def test_aliases_that_expand_exponentially_are_stopped() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (problem,) = problems("\n".join(levels) + "\n")
    assert (
        problem
        == f"<document>: the document has more than {MAX_DOCUMENT_NODES:,} values once aliases are expanded"
    )


@pytest.mark.parametrize(
    "text",
    ["a: &a [*a]\n", "[" * 5000 + "]" * 5000, "{" + '"a": [' * 3000 + "]" * 3000 + "}"],
    ids=["recursive alias", "deep YAML", "deep JSON"],
)
def test_self_referring_or_deeply_nested_documents_are_refused(text: str) -> None:
    assert problems(text) == ["<document>: the document is nested too deeply (or an alias refers to itself)"]


@pytest.mark.parametrize(
    "text,problem",
    [
        (
            "runtime: {max_concurrent_scrapes: " + "9" * 5000 + "}\n",
            "runtime.max_concurrent_scrapes: invalid value",
        ),
        ('{"runtime": {"max_concurrent_scrapes": ' + "9" * 5000 + "}}", "<document>: invalid JSON"),
        ("global: {scrape_interval: " + "9" * 400 + "s}\n", "global.scrape_interval: not a valid duration"),
        ("global: {scrape_interval: 999999999y}\n", "global.scrape_interval: duration out of range"),
        (
            "scrape_configs: [{job_name: a, body_size_limit: 99999999999EB}]\n",
            "scrape_configs[0].body_size_limit: size out of range",
        ),
    ],
)
def test_huge_numbers_are_one_clear_problem(text: str, problem: str) -> None:
    (found,) = problems(text)
    assert found.startswith(problem)


def test_a_job_interval_below_the_global_timeout_shortens_the_timeout_as_in_prometheus() -> None:
    text = "global: {scrape_timeout: 10s}\nscrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n"
    job = parse_config(text).config.scrape_configs[0]
    assert (job.scrape_interval, job.scrape_timeout) == (5.0, 5.0)


def test_an_explicit_job_timeout_above_its_interval_is_the_jobs_fault() -> None:
    text = "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 6s\n"
    assert problems(text) == [
        "scrape_configs[0].scrape_timeout: scrape_timeout (6s) is greater than scrape_interval (5s) (line 4)"
    ]
