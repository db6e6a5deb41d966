"""Relabeling: every action and default, Go's expansion rules, load-time validation messages.

Several cases mirror the facts of Prometheus's model/relabel tests (inputs and expected outputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from scrape_push.config.decode import decode
from scrape_push.config.errors import ConfigError
from scrape_push.relabel import NO_RULES, RelabelConfig, compile_rules, relabel


@dataclass(frozen=True)
class _Document:
    relabel_configs: tuple[RelabelConfig, ...] = ()


def load(text: str) -> tuple[RelabelConfig, ...]:
    return decode(_Document, yaml.safe_load(text)).relabel_configs


def run(rules_yaml: str, labels: dict[str, str]) -> dict[str, str] | None:
    return relabel(labels, compile_rules(load(rules_yaml)))


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text)
    return [str(problem) for problem in info.value.problems]


def test_defaults_are_prometheus_defaults() -> None:
    (rule,) = load("relabel_configs: [{target_label: x}]")
    assert rule == RelabelConfig(
        source_labels=(),
        separator=";",
        regex="(.*)",
        modulus=0,
        target_label="x",
        replacement="$1",
        action="replace",
    )


CASES: list[tuple[str, str, dict[str, str], dict[str, str] | None]] = [
    (
        "replace with ${1}",
        "[{source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch${1}-ch${1}'}]",
        {"a": "foo", "b": "bar"},
        {"a": "foo", "b": "bar", "d": "choo-choo"},
    ),
    (
        "replace joins sources with the separator, rules run in order",
        "[{source_labels: [a, b], regex: 'f(.*);(.*)r', target_label: a, replacement: 'b${1}${2}m'},"
        " {source_labels: [c, a], regex: '(b).*b(.*)ba(.*)', target_label: d, replacement: '$1$2$2$3'}]",
        {"a": "foo", "b": "bar", "c": "baz"},
        {"a": "boobam", "b": "bar", "c": "baz", "d": "boooom"},
    ),
    (
        "replace default regex and replacement copy the value",
        "[{source_labels: [a], target_label: b}]",
        {"a": "x"},
        {"a": "x", "b": "x"},
    ),
    (
        "replace does nothing when the regex does not match",
        "[{source_labels: [a], regex: f, target_label: b, replacement: bar}]",
        {"a": "boo"},
        {"a": "boo"},
    ),
    (
        "regex is anchored at both ends",
        "[{source_labels: [a], regex: 'o', target_label: b, replacement: hit}]",
        {"a": "foo"},
        {"a": "foo"},
    ),
    (
        "default regex does not match a newline",
        "[{source_labels: [a], target_label: b}]",
        {"a": "x\ny"},
        {"a": "x\ny"},
    ),
    (
        "an empty result deletes the target label",
        "[{source_labels: [missing], target_label: a}]",
        {"a": "foo", "b": "x"},
        {"b": "x"},
    ),
    (
        "a missing source label reads as empty",
        "[{source_labels: [nope, a], regex: ';(.*)', target_label: b}]",
        {"a": "v"},
        {"a": "v", "b": "v"},
    ),
    (
        "constant replacement",
        "[{target_label: env, replacement: prod}]",
        {"a": "1"},
        {"a": "1", "env": "prod"},
    ),
    (
        "templated target_label",
        "[{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${2}', target_label: '${1}'}]",
        {"a": "some-name-value"},
        {"a": "some-name-value", "name": "value"},
    ),
    (
        "templated target_label: unknown group gives empty value, nothing set",
        "[{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${3}', target_label: '${1}'}]",
        {"a": "some-name-value"},
        {"a": "some-name-value"},
    ),
    (
        "templated target_label expanding to an invalid name is skipped",
        "[{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '${3}'},"
        " {source_labels: [a], regex: 'some-([^-]+)(-[^,]+)', replacement: '${1}', target_label: '${2}'}]",
        {"a": "some-name-0"},
        {"a": "some-name-0"},
    ),
    (
        "real-life tag parsing",
        "[{source_labels: [__meta_sd_tags], regex: '(?:.+,|^)path:(/[^,]+).*',"
        "  target_label: __metrics_path__},"
        " {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)job:([^,]+).*', target_label: job},"
        " {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)label:([^=]+)=([^,]+).*',"
        "  replacement: '${2}', target_label: '${1}'}]",
        {"__meta_sd_tags": "path:/secret,job:some-job,label:foo=bar"},
        {
            "__meta_sd_tags": "path:/secret,job:some-job,label:foo=bar",
            "__metrics_path__": "/secret",
            "job": "some-job",
            "foo": "bar",
        },
    ),
    ("keep: match keeps", "[{source_labels: [a], regex: 'f.*', action: keep}]", {"a": "foo"}, {"a": "foo"}),
    ("keep: no match drops", "[{source_labels: [a], regex: no-match, action: keep}]", {"a": "foo"}, None),
    (
        "keep: action name is case-insensitive",
        "[{source_labels: [a], regex: x, action: Keep}]",
        {"a": "y"},
        None,
    ),
    (
        "drop: match drops, later rules do not run",
        "[{source_labels: [a], regex: '.*o.*', action: drop}, {source_labels: [a], target_label: d}]",
        {"a": "foo"},
        None,
    ),
    (
        "drop: partial match is no match",
        "[{source_labels: [a], regex: 'f|o', action: drop}]",
        {"a": "foo"},
        {"a": "foo"},
    ),
    (
        "drop: missing label matches empty",
        "[{source_labels: [x], regex: '', action: drop}]",
        {"a": "1"},
        None,
    ),
    (
        "keepequal: equal keeps",
        "[{source_labels: [__tmp_port], target_label: __port1, action: keepequal}]",
        {"__tmp_port": "1234", "__port1": "1234", "__port2": "5678"},
        {"__tmp_port": "1234", "__port1": "1234", "__port2": "5678"},
    ),
    (
        "keepequal: different drops",
        "[{source_labels: [__tmp_port], target_label: __port2, action: keepequal}]",
        {"__tmp_port": "1234", "__port2": "5678"},
        None,
    ),
    (
        "dropequal: equal drops",
        "[{source_labels: [__tmp_port], target_label: __port1, action: dropequal}]",
        {"__tmp_port": "1234", "__port1": "1234"},
        None,
    ),
    (
        "dropequal: different keeps",
        "[{source_labels: [__tmp_port], target_label: __port2, action: dropequal}]",
        {"__tmp_port": "1234", "__port2": "5678"},
        {"__tmp_port": "1234", "__port2": "5678"},
    ),
    (
        "hashmod: md5, last 8 bytes big-endian, mod",
        "[{source_labels: [c], target_label: d, modulus: 1000, action: hashmod}]",
        {"c": "baz"},
        {"c": "baz", "d": "976"},
    ),
    (
        "hashmod: newline in the value",
        "[{source_labels: [a], target_label: b, modulus: 1000, action: hashmod}]",
        {"a": "foo\nbar"},
        {"a": "foo\nbar", "b": "734"},
    ),
    (
        "labelmap with ${1}",
        "[{regex: '(b.*)', replacement: 'bar_${1}', action: labelmap}]",
        {"a": "foo", "b1": "bar", "b2": "baz"},
        {"a": "foo", "b1": "bar", "b2": "baz", "bar_b1": "bar", "bar_b2": "baz"},
    ),
    (
        "labelmap with the default replacement",
        "[{regex: '__meta_(my.*)', action: labelmap}]",
        {"a": "foo", "__meta_my_bar": "aaa", "__meta_other": "ccc"},
        {"a": "foo", "__meta_my_bar": "aaa", "__meta_other": "ccc", "my_bar": "aaa"},
    ),
    (
        "labelmap: collisions resolve in label name order, last wins",
        "[{regex: '__meta_x_(.*)_(.*)', replacement: '$2', action: labelmap}]",
        {"__meta_x_a_t": "1", "__meta_x_b_t": "2"},
        {"__meta_x_a_t": "1", "__meta_x_b_t": "2", "t": "2"},
    ),
    (
        "labelmap: a mapping to an invalid name is skipped",
        "[{regex: '__meta_tag_(.*)', action: labelmap}]",
        {"__meta_tag_1st": "x"},
        {"__meta_tag_1st": "x"},
    ),
    (
        "labeldrop",
        "[{regex: '(b.*)', action: labeldrop}]",
        {"a": "foo", "b1": "bar", "b2": "baz"},
        {"a": "foo"},
    ),
    (
        "labelkeep",
        "[{regex: '(b.*)', action: labelkeep}]",
        {"a": "foo", "b1": "bar", "b2": "baz"},
        {"b1": "bar", "b2": "baz"},
    ),
    (
        "labeldrop then replace then keep (Prometheus issue 12283)",
        "[{regex: '^__meta_kubernetes_pod_container_port_name$', action: labeldrop},"
        " {source_labels: [__meta_kubernetes_pod_annotation_XXX_metrics_port], regex: '(.+)',"
        "  replacement: metrics, target_label: __meta_kubernetes_pod_container_port_name},"
        " {source_labels: [__meta_kubernetes_pod_container_port_name], regex: '^metrics$', action: keep}]",
        {
            "__meta_kubernetes_pod_container_port_name": "foo",
            "__meta_kubernetes_pod_annotation_XXX_metrics_port": "9091",
        },
        {
            "__meta_kubernetes_pod_annotation_XXX_metrics_port": "9091",
            "__meta_kubernetes_pod_container_port_name": "metrics",
        },
    ),
    (
        "lowercase and uppercase",
        "[{source_labels: [foo], target_label: foo_uppercase, action: uppercase},"
        " {source_labels: [foo], target_label: foo_lowercase, action: lowercase}]",
        {"foo": "bAr123Foo"},
        {"foo": "bAr123Foo", "foo_lowercase": "bar123foo", "foo_uppercase": "BAR123FOO"},
    ),
    (
        "lowercase and uppercase map each character on its own, as Go does",
        "[{source_labels: [a], target_label: lower, action: lowercase},"
        " {source_labels: [a], target_label: upper, action: uppercase}]",
        {"a": "İΣΑΣ straße ᾀ"},
        # Go has no final-sigma rule and keeps ß (no single-letter upper case)
        {"a": "İΣΑΣ straße ᾀ", "lower": "i\u03c3\u03b1\u03c3 straße ᾀ", "upper": "İΣΑΣ STRAßE ᾈ"},
    ),
    (
        "lowercase of an empty value deletes the target",
        "[{source_labels: [missing], target_label: a, action: lowercase}]",
        {"a": "X"},
        {},
    ),
    ("no rules: empty values are removed", "[]", {"a": "1", "b": ""}, {"a": "1"}),
    (
        "case-insensitive flag and RE2 classes",
        "[{source_labels: [a], regex: '(?i)HOST-(\\d+)', target_label: n},"
        " {source_labels: [a], regex: '[[:alpha:]]+-[[:digit:]]+\\z', target_label: ok, replacement: y}]",
        {"a": "host-42"},
        {"a": "host-42", "n": "42", "ok": "y"},
    ),
]


@pytest.mark.parametrize(("rules", "labels", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_relabel(rules: str, labels: dict[str, str], expected: dict[str, str] | None) -> None:
    assert run(f"relabel_configs: {rules}", labels) == expected


def test_input_is_not_modified() -> None:
    labels = {"a": "1"}
    assert run("relabel_configs: [{target_label: a, replacement: ''}]", labels) == {}
    assert labels == {"a": "1"}


def test_no_rules_fast_path() -> None:
    assert compile_rules([]) is NO_RULES
    assert len(NO_RULES) == 0
    assert relabel({"a": "1", "b": ""}, NO_RULES) == {"a": "1"}


EXPANSION: list[tuple[str, str, str, str]] = [
    # (regex, replacement, value, expected result)
    ("(a)(b)", "$1x", "ab", ""),  # $1x names a group "1x": unknown, empty → label deleted
    ("(a)(b)", "${1}x", "ab", "ax"),
    ("(a)(b)", "$2$1", "ab", "ba"),
    ("(a)(b)", "$0", "ab", "ab"),
    ("(a)(b)", "$$1", "ab", "$1"),
    ("(a)(b)", "$", "ab", "$"),
    ("(a)(b)", "${", "ab", "${"),
    ("(a)(b)", "${1", "ab", "${1"),
    ("(a)(b)", "${}", "ab", "${}"),
    ("(a)(b)", "$-", "ab", "$-"),
    ("(a)(b)", "$01", "ab", ""),  # leading zero: a name, not a number
    ("(a)(b)", "$9", "ab", ""),
    ("(?P<host>[^:]+):(?P<port>\\d+)", "$port/$host", "h:80", "80/h"),
    ("(?P<host>[^:]+):(?P<port>\\d+)", "${port}x", "h:80", "80x"),
    ("(?P<host>[^:]+):(?P<port>\\d+)", "$portx", "h:80", ""),
    ("(?P<1x>a)b", "$1x", "ab", "a"),  # RE2 allows a group name starting with a digit
    ("(?P<n>a)|(?P<n>b)", "[$n]", "b", "[b]"),  # the first group of that name that took part
    ("(a)|(b)", "[$1|$2]", "b", "[|b]"),  # a group that did not take part is empty
]


@pytest.mark.parametrize(("regex", "replacement", "value", "expected"), EXPANSION)
def test_replacement_expansion(regex: str, replacement: str, value: str, expected: str) -> None:
    rule = RelabelConfig(source_labels=("v",), regex=regex, target_label="out", replacement=replacement)
    result = relabel({"v": value}, compile_rules([rule]))
    assert result is not None
    assert result.get("out", "") == expected


INVALID: list[tuple[str, str, list[str]]] = [
    (
        "replace without target_label",
        "{}",
        [
            "relabel_configs[0].target_label: "
            "relabel configuration for replace action requires 'target_label' value"
        ],
    ),
    (
        "uppercase without target_label",
        "{action: uppercase}",
        [
            "relabel_configs[0].target_label: "
            "relabel configuration for uppercase action requires 'target_label' value"
        ],
    ),
    (
        "keepequal without target_label",
        "{action: keepequal}",
        [
            "relabel_configs[0].target_label: "
            "relabel configuration for keepequal action requires 'target_label' value"
        ],
    ),
    (
        "hashmod without modulus",
        "{action: hashmod, target_label: x}",
        ["relabel_configs[0].modulus: relabel configuration for hashmod requires non-zero modulus"],
    ),
    (
        "hashmod with invalid target",
        "{action: hashmod, target_label: 'a-b', modulus: 2}",
        ["relabel_configs[0].target_label: \"a-b\" is invalid 'target_label' for hashmod action"],
    ),
    (
        "replace with invalid target",
        "{target_label: '-label'}",
        ["relabel_configs[0].target_label: \"-label\" is invalid 'target_label' for replace action"],
    ),
    (
        "replace with invalid templated target",
        "{target_label: '0${3}'}",
        ["relabel_configs[0].target_label: \"0${3}\" is invalid 'target_label' for replace action"],
    ),
    (
        "replace with dangling $",
        "{target_label: 'foo${'}",
        ["relabel_configs[0].target_label: \"foo${\" is invalid 'target_label' for replace action"],
    ),
    (
        "lowercase with templated target",
        "{action: lowercase, target_label: '${3}'}",
        ["relabel_configs[0].target_label: \"${3}\" is invalid 'target_label' for lowercase action"],
    ),
    (
        "lowercase with replacement",
        "{action: lowercase, target_label: x, replacement: y}",
        ["relabel_configs[0].replacement: 'replacement' can not be set for lowercase action"],
    ),
    (
        "labelmap with invalid replacement",
        "{action: labelmap, replacement: 'a-$1'}",
        ["relabel_configs[0].replacement: \"a-$1\" is invalid 'replacement' for labelmap action"],
    ),
    (
        "dropequal with regex",
        "{action: dropequal, target_label: x, regex: a}",
        [
            "relabel_configs[0]: "
            "dropequal action requires only 'source_labels' and `target_label`, and no other fields"
        ],
    ),
    (
        "keepequal with separator",
        "{action: keepequal, target_label: x, separator: ','}",
        [
            "relabel_configs[0]: "
            "keepequal action requires only 'source_labels' and `target_label`, and no other fields"
        ],
    ),
    (
        "labeldrop with source_labels",
        "{action: labeldrop, source_labels: [a]}",
        ["relabel_configs[0]: labeldrop action requires only 'regex', and no other fields"],
    ),
    (
        "labelkeep with target_label",
        "{action: labelkeep, target_label: a}",
        ["relabel_configs[0]: labelkeep action requires only 'regex', and no other fields"],
    ),
    (
        "labelkeep with modulus",
        "{action: labelkeep, modulus: 3}",
        ["relabel_configs[0]: labelkeep action requires only 'regex', and no other fields"],
    ),
    ("unknown action", "{action: explode}", ['relabel_configs[0].action: unknown relabel action "explode"']),
    (
        "invalid source label",
        "{source_labels: [ok, 'not-ok'], target_label: x}",
        ['relabel_configs[0].source_labels[1]: "not-ok" is not a valid label name'],
    ),
    (
        "negative modulus",
        "{action: hashmod, target_label: x, modulus: -1}",
        ["relabel_configs[0].modulus: must not be negative"],
    ),
    (
        "unknown key",
        "{target_label: x, regexp: a}",
        ["relabel_configs[0].regexp: unknown key; did you mean 'regex'?"],
    ),
    (
        "regex with a backreference",
        "{target_label: x, regex: '(a)\\1'}",
        [
            "relabel_configs[0].regex: invalid regular expression `(a)\\1`: backreferences (\\1) are not "
            "supported by RE2"
        ],
    ),
    (
        "regex with lookahead",
        "{target_label: x, regex: 'a(?=b)'}",
        [
            "relabel_configs[0].regex: "
            "invalid regular expression `a(?=b)`: lookahead (?=...) is not supported by RE2"
        ],
    ),
    (
        "regex with a Unicode class",
        "{target_label: x, regex: '\\p{Greek}+'}",
        [
            "relabel_configs[0].regex: invalid regular expression `\\p{Greek}+`: Unicode character classes "
            "(\\p{Greek}) are RE2 syntax that Python's re does not support; use an explicit range such as "
            "[\\x{0370}-\\x{03FF}]"
        ],
    ),
    (
        "two bad rules are both reported",
        "{action: drop, regex: '('}, {action: hashmod, target_label: x}",
        [
            "relabel_configs[0].regex: invalid regular expression `(`: missing closing )",
            "relabel_configs[1].modulus: relabel configuration for hashmod requires non-zero modulus",
        ],
    ),
]


@pytest.mark.parametrize(("rules", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_rules_are_rejected_with_prometheus_messages(rules: str, expected: list[str]) -> None:
    assert problems(f"relabel_configs: [{rules}]") == expected


VALID_TARGETS = ["label", "label${1}", "${1}label", "${1}", "$1", "asd$2asd", "_${1}_", "foo${bar}foo"]


@pytest.mark.parametrize("target", VALID_TARGETS)
def test_valid_templated_targets(target: str) -> None:
    assert load(f"relabel_configs: [{{target_label: '{target}'}}]")[0].target_label == target


@pytest.mark.parametrize("target", ["${", "$", "${}", "foo${", "-foo${1}bar-"])
def test_invalid_templated_targets(target: str) -> None:
    assert problems(f"relabel_configs: [{{target_label: '{target}'}}]") == [
        f"relabel_configs[0].target_label: \"{target}\" is invalid 'target_label' for replace action"
    ]


def test_yaml_numbers_are_text_for_string_fields() -> None:
    (rule,) = load("relabel_configs: [{source_labels: [a], regex: 200, target_label: b, replacement: 9100}]")
    assert (rule.regex, rule.replacement) == ("200", "9100")


def test_regex_may_be_a_yaml_boolean_only_as_a_string() -> None:
    document: Any = {"relabel_configs": [{"target_label": "x", "regex": True}]}
    with pytest.raises(ConfigError) as info:
        decode(_Document, document)
    assert [str(p) for p in info.value.problems] == ["relabel_configs[0].regex: expected a string, got bool"]
