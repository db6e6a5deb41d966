"""Prometheus's keys that scrape-push does not implement, and what a pasted prometheus.yml gets
for each: accepted quietly (it asks for what scrape-push does anyway), accepted with a warning
saying why it has no effect in a Lambda function, or refused naming what to use instead.

The decoder consults these rules only for keys a dataclass has no field for and no plugin
serves (``decode.KeyRule``), so a key that becomes implemented, or a plugin that comes to serve
a section (an ``otlp`` sink), takes precedence over its rule here. Keys and values are those of
Prometheus 3.x's configuration file (docs/configuration/configuration.md and config.go), plus
the 2.x ones a file may still carry (``bearer_token_file``, ``scrape_classic_histograms``).
docs/scrape-configs.md lists every key with what it does here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..httpconfig import AuthorizationConfig, BasicAuthConfig, TLSConfig
from .decode import KeyRule, KeyRules, Verdict, kind_of
from .errors import FieldError
from .model import Config, GlobalConfig, RuntimeConfig, ScrapeConfig
from .values import parse_duration

Check = Callable[[object], object]
"""Checks a value as Prometheus would (raises ``FieldError``)."""


def _expect(tp: type, name: str) -> Check:
    def check(raw: object) -> object:
        fits = isinstance(raw, tp) and not (tp is not bool and isinstance(raw, bool))
        if not fits and not (tp is float and isinstance(raw, int) and not isinstance(raw, bool)):
            raise FieldError(f"expected {name}, got {kind_of(raw)}")
        return raw

    return check


BOOLEAN = _expect(bool, "a boolean")
INTEGER = _expect(int, "an integer")
STRING = _expect(str, "a string")
LIST = _expect(list, "a list")
MAPPING = _expect(dict, "a mapping")


def _checked(check: Check | None, raw: object) -> Verdict | None:
    """A refusal when ``raw`` is not a value Prometheus accepts for the key."""
    if check is None:
        return None
    try:
        check(raw)
    except FieldError as exc:
        return Verdict(True, str(exc))
    return None


@dataclass(frozen=True)
class NoEffect:
    """Accepted with a warning: the key means nothing here, for ``reason``. A value in
    ``quiet`` asks for what scrape-push does anyway: accepted without a warning."""

    reason: str
    check: Check | None = None
    quiet: tuple[object, ...] = ()

    @property
    def summary(self) -> str:
        return f"accepted, no effect here: {self.reason}"

    def judge(self, raw: object) -> Verdict | None:
        if raw is None:
            return None
        refused = _checked(self.check, raw)
        if refused is not None:
            return refused
        if any(type(raw) is type(value) and raw == value for value in self.quiet):
            return None
        return Verdict(False, f"has no effect here: {self.reason}")


@dataclass(frozen=True)
class Refused:
    """Refused: the key cannot work in a Lambda function; ``reason`` names what to use."""

    reason: str

    @property
    def summary(self) -> str:
        return f"not supported: {self.reason}"

    def judge(self, raw: object) -> Verdict | None:
        return Verdict(True, f"not supported: {self.reason}")


@dataclass(frozen=True)
class OneOf:
    """A key whose value is one of Prometheus's names, each judged by its own rule (``None``:
    accepted quietly, it is what scrape-push does)."""

    summary: str
    choices: Mapping[str, NoEffect | Refused | None]

    def judge(self, raw: object) -> Verdict | None:
        if raw is None:
            return None
        if not isinstance(raw, str) or raw not in self.choices:
            allowed = ", ".join(repr(choice) for choice in self.choices if choice)
            shown = repr(raw)[:60] if isinstance(raw, str) else kind_of(raw)
            return Verdict(True, f"must be one of {allowed}, got {shown}")
        rule = self.choices[raw]
        return None if rule is None else rule.judge(raw)


_NO_FILES = "the function reads no files"
_SSM = "put the secret in an SSM SecureString parameter and name it in"
_SECRET_REF = "Prometheus's secret managers are not available here"

_NO_RULES = "scrape-push evaluates no recording or alerting rules"
_FAILURE_LOG = "failed scrapes go to the function's log (a WARNING each) and the summary; no file is written"
_SCRAPING: dict[str, KeyRule] = {
    "convert_classic_histograms_to_nhcb": NoEffect(
        "no native histograms with custom buckets are made; classic histograms are sent as scraped",
        BOOLEAN,
        quiet=(False,),
    ),
    "extra_scrape_metrics": NoEffect(
        "scrape_timeout_seconds, scrape_sample_limit and scrape_body_size_bytes are not produced",
        BOOLEAN,
        quiet=(False,),
    ),
}
"""Keys ``global`` and every job share (a job's value overrides the global one)."""

TOP_LEVEL: dict[str, KeyRule] = {
    "rule_files": NoEffect(_NO_RULES, LIST),
    "alerting": NoEffect("scrape-push sends no alerts (alert where the data is stored)", MAPPING),
    "remote_read": NoEffect("scrape-push answers no queries", LIST),
    "storage": NoEffect("scrape-push stores nothing locally: samples go straight to the sinks", MAPPING),
    "tracing": NoEffect(
        "scrape-push exports no traces (turn on the function's X-Ray tracing instead)", MAPPING
    ),
    "otlp": NoEffect(
        "these are settings of Prometheus's OTLP receiver; scrape-push receives no OTLP", MAPPING
    ),
    "scrape_config_files": Refused(
        f"{_NO_FILES}: put the jobs in the configuration itself, split over several SSM "
        "parameters under the stack's ConfigPath when it is too big for one (docs/scrape-configs.md)"
    ),
}

GLOBAL: dict[str, KeyRule] = {
    "evaluation_interval": NoEffect(_NO_RULES, parse_duration),
    "rule_query_offset": NoEffect(_NO_RULES, parse_duration),
    "query_log_file": NoEffect("scrape-push runs no PromQL queries", STRING),
    "scrape_failure_log_file": NoEffect(_FAILURE_LOG, STRING),
    **_SCRAPING,
}

SD_MECHANISMS = (
    "aws",
    "azure",
    "consul",
    "digitalocean",
    "docker",
    "dockerswarm",
    "dns",
    "ec2",
    "eureka",
    "gce",
    "hetzner",
    "http",
    "ionos",
    "kubernetes",
    "kuma",
    "lightsail",
    "linode",
    "marathon",
    "nerve",
    "nomad",
    "openstack",
    "ovhcloud",
    "puppetdb",
    "scaleway",
    "serverset",
    "stackit",
    "triton",
    "uyuni",
    "vultr",
)
"""Prometheus's service discoveries (3.x docs; ``vultr`` from 2.x): a job's ``<name>_sd_configs``
that no plugin serves is accepted with a warning (``file_sd_configs`` is refused)."""

SCRAPE_CONFIG: dict[str, KeyRule] = {
    "scrape_failure_log_file": NoEffect(_FAILURE_LOG, STRING),
    **_SCRAPING,
    "bearer_token_file": Refused(f"{_NO_FILES}: {_SSM} authorization.credentials_ssm_parameter"),
    **{
        f"{name}_sd_configs": NoEffect(
            f"scrape-push has no {name} discovery (docs/discovery.md): the job gets no targets from it",
            LIST,
        )
        for name in SD_MECHANISMS
    },
    "file_sd_configs": Refused(
        f"{_NO_FILES}: list the targets in static_configs (a job per SSM parameter when the list "
        "is long) or use a discovery scrape-push has (docs/discovery.md)"
    ),
}

RUNTIME: dict[str, KeyRule] = {
    "gogc": NoEffect(
        "it tunes Go's garbage collector; scrape-push runs on Python (memory: the function's MemorySize)",
        INTEGER,
    ),
}

BASIC_AUTH: dict[str, KeyRule] = {
    "username_file": Refused(f"{_NO_FILES}: set username"),
    "password_file": Refused(f"{_NO_FILES}: {_SSM} password_ssm_parameter"),
    "username_ref": Refused(f"{_SECRET_REF}: set username"),
    "password_ref": Refused(f"{_SECRET_REF}: {_SSM} password_ssm_parameter"),
}

AUTHORIZATION: dict[str, KeyRule] = {
    "credentials_file": Refused(f"{_NO_FILES}: {_SSM} credentials_ssm_parameter"),
    "credentials_ref": Refused(f"{_SECRET_REF}: {_SSM} credentials_ssm_parameter"),
}

_NOT_BELOW_TLS12 = NoEffect("the function never negotiates below TLS 1.2")
_TLS13_MAY_BE_USED = NoEffect("the maximum is not applied: TLS 1.3 may be negotiated")
TLS: dict[str, KeyRule] = {
    "ca_ref": Refused(f"{_SECRET_REF}: give the CA inline in ca, or a file shipped in a layer in ca_file"),
    "cert_ref": Refused(f"{_SECRET_REF}: give the certificate inline in cert, or in cert_file"),
    "key_ref": Refused(f"{_SECRET_REF}: {_SSM} key_ssm_parameter"),
    "min_version": OneOf(
        "TLS 1.2 is the minimum; TLS13 is refused (not supported yet)",
        {
            "TLS10": _NOT_BELOW_TLS12,
            "TLS11": _NOT_BELOW_TLS12,
            "TLS12": None,
            "TLS13": Refused("TLS 1.3 as the minimum is not supported yet: leave min_version out (TLS 1.2)"),
        },
    ),
    "max_version": OneOf(
        "TLS 1.3 is the maximum; a lower maximum has no effect",
        {
            "TLS10": _TLS13_MAY_BE_USED,
            "TLS11": _TLS13_MAY_BE_USED,
            "TLS12": _TLS13_MAY_BE_USED,
            "TLS13": None,
        },
    ),
}

PROMETHEUS_KEYS: KeyRules = {
    Config: TOP_LEVEL,
    GlobalConfig: GLOBAL,
    ScrapeConfig: SCRAPE_CONFIG,
    RuntimeConfig: RUNTIME,
    BasicAuthConfig: BASIC_AUTH,
    AuthorizationConfig: AUTHORIZATION,
    TLSConfig: TLS,
}
"""The rules ``decode`` applies to a whole configuration document."""
