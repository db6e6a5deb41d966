"""Turn ``scrape_configs`` into concrete scrape targets with Prometheus's label rules.

For every discovered address (``static_configs`` and every ``*_sd_configs``) the target's label
set starts as Prometheus builds it: the group's labels, ``__address__``, ``job``,
``__scheme__``, ``__metrics_path__``, ``__scrape_interval__``, ``__scrape_timeout__`` and one
``__param_<name>`` per ``params`` entry. ``relabel_configs`` then run; a target they drop is
gone, and one left without ``__address__`` (or with an invalid interval, timeout or label) is
reported as an error. Afterwards ``__meta_*`` and every other ``__``-prefixed label are
removed from the labels its series carry, ``instance`` defaults to the address, and the URL
comes from ``__scheme__``, ``__address__``, ``__metrics_path__`` and ``__param_*``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .config.document import join_index
from .config.errors import FieldError
from .config.model import (
    DEFAULT_BODY_SIZE_LIMIT,
    DEFAULT_SCRAPE_INTERVAL,
    DEFAULT_SCRAPE_TIMEOUT,
    Config,
    ScrapeConfig,
)
from .config.values import format_duration, parse_duration
from .discovery import DiscoveryError
from .httpconfig import HTTPClientConfig
from .limits import ScrapeLimits
from .model import Labels, sort_labels
from .plugins import DISCOVERIES, BuildContext
from .relabel import NO_RULES, RelabelRules, compile_rules, relabel

ADDRESS, SCHEME, METRICS_PATH = "__address__", "__scheme__", "__metrics_path__"
INTERVAL, TIMEOUT, PARAM_PREFIX = "__scrape_interval__", "__scrape_timeout__", "__param_"
DEFAULT_PORTS = {"http": "80", "https": "443"}
"""Prometheus 2.x adds the scheme's port to an address that has none."""


@dataclass(frozen=True)
class Target:
    """One endpoint to scrape, with the labels its series will carry."""

    job: str
    url: str
    labels: Labels
    """Target labels (``job``, ``instance``, group and relabeled labels), sorted, no ``__``."""
    external_labels: Labels
    """``global.external_labels``: added to every series that lacks them."""
    timeout: float
    interval: float
    honor_labels: bool
    honor_timestamps: bool
    body_size_limit: int
    limits: ScrapeLimits = field(default_factory=ScrapeLimits)
    metric_relabel: RelabelRules = NO_RULES
    metric_relabel_key: str = ""
    """Identity of ``metric_relabel_configs`` (cached relabel results are only reused under it)."""
    http: HTTPClientConfig = field(default_factory=HTTPClientConfig)
    strict: bool = False
    """Parse as the format specs say, not as leniently as Prometheus 2.42 (``ScrapeConfig.strict``)."""
    legacy_names: bool = False
    """``metric_name_validation_scheme: legacy``: a metric or label name outside Prometheus's
    legacy character set fails the scrape."""
    name_escaping: str = "allow-utf-8"
    """``metric_name_escaping_scheme`` in effect: what the target is asked to do to its names."""

    @property
    def instance(self) -> str:
        return dict(self.labels).get("instance", "")


@dataclass(frozen=True)
class TargetError:
    """A target that could not be built (discovery failed, relabeling left it invalid)."""

    job: str
    target: str
    error: str


@dataclass
class TargetSet:
    """What target building produced: the targets, and the errors met on the way."""

    targets: list[Target] = field(default_factory=list)
    errors: list[TargetError] = field(default_factory=list)
    dropped: int = 0
    """Targets that ``relabel_configs`` dropped (as intended, not errors)."""


def build_targets(config: Config, jobs: Iterable[str] | None = None) -> TargetSet:
    """Every target of every job, or of the named ``jobs`` only."""
    wanted = None if jobs is None else set(jobs)
    out = TargetSet()
    for job in config.scrape_configs:
        if wanted is None or job.job_name in wanted:
            _job_targets(config, job, out)
    return out


def _job_targets(config: Config, job: ScrapeConfig, out: TargetSet) -> None:
    glob = config.global_
    interval = job.scrape_interval or glob.scrape_interval or DEFAULT_SCRAPE_INTERVAL
    timeout = job.scrape_timeout or glob.scrape_timeout or min(DEFAULT_SCRAPE_TIMEOUT, interval)
    base = {
        "job": job.job_name,
        SCHEME: job.scheme,
        METRICS_PATH: job.metrics_path,
        INTERVAL: format_duration(interval),
        TIMEOUT: format_duration(timeout),
    }
    rules = compile_rules(job.relabel_configs)
    shared = _Shared(
        job=job,
        external=sort_labels(glob.external_labels),
        limits=ScrapeLimits(
            job.sample_limit, job.label_limit, job.label_name_length_limit, job.label_value_length_limit
        ),
        metric_relabel=compile_rules(job.metric_relabel_configs),
        metric_relabel_key=_digest(repr(job.metric_relabel_configs)),
        schemes=job.name_schemes(glob),
    )
    for group in _groups(job, BuildContext.of(config), out):
        start = {**base, **{f"{PARAM_PREFIX}{k}": v[0] for k, v in job.params.items() if v}}
        for name, value in group.items():
            if value or name not in start:
                start[name] = value
        labels = relabel(start, rules)
        if labels is None:
            out.dropped += 1
            continue
        try:
            out.targets.append(_target(labels, shared))
        except FieldError as exc:
            out.errors.append(TargetError(job.job_name, _shown(start.get(ADDRESS, "")), str(exc)))


@dataclass(frozen=True)
class _Shared:
    """What every target of one job has in common."""

    job: ScrapeConfig
    external: Labels
    limits: ScrapeLimits
    metric_relabel: RelabelRules
    metric_relabel_key: str
    schemes: tuple[str, str]
    """The job's metric name validation and escaping schemes."""


def _groups(job: ScrapeConfig, context: BuildContext, out: TargetSet) -> Iterator[dict[str, str]]:
    """Every discovered label set of the job: static targets, then each discovery's, in key order."""
    for group in job.static_configs:
        for address in group.targets:
            yield {**group.labels, ADDRESS: address}
    for key, entries in job.discovery.items():
        build = DISCOVERIES.get(key).build
        for index, sd in enumerate(entries):
            try:
                yield from build(sd, context).discover()
            except DiscoveryError as exc:
                out.errors.append(TargetError(job.job_name, join_index(key, index), str(exc)))


def _target(labels: dict[str, str], shared: _Shared) -> Target:
    """A target from its relabeled label set; ``FieldError`` when the set is unusable."""
    job = shared.job
    address = labels.get(ADDRESS)
    if not address:
        raise FieldError("no address")
    if "@" in address:  # the URL (shown in summaries and logs) would carry the credentials
        raise FieldError("the address must not carry credentials (user@host); use basic_auth")
    if "/" in address or any(c.isspace() for c in address):
        raise FieldError(f"{address!r} is not a valid hostname")
    scheme = labels.get(SCHEME, job.scheme)
    if scheme not in DEFAULT_PORTS:
        raise FieldError(f"invalid scheme {scheme!r}")
    if not _has_port(address):
        address = f"{address}:{DEFAULT_PORTS[scheme]}"
    interval = _duration(labels, INTERVAL)
    timeout = _duration(labels, TIMEOUT)
    if timeout > interval:
        raise FieldError(f"scrape timeout {labels[TIMEOUT]} greater than scrape interval {labels[INTERVAL]}")
    kept = {k: v for k, v in labels.items() if not k.startswith("__")}
    kept.setdefault("instance", address)
    return Target(
        job=job.job_name,
        url=_url(scheme, address, labels.get(METRICS_PATH, job.metrics_path), job.params, labels),
        labels=sort_labels(kept),
        external_labels=shared.external,
        timeout=timeout,
        interval=interval,
        honor_labels=job.honor_labels,
        honor_timestamps=job.honor_timestamps,
        body_size_limit=job.body_size_limit or DEFAULT_BODY_SIZE_LIMIT,
        limits=shared.limits,
        metric_relabel=shared.metric_relabel,
        metric_relabel_key=shared.metric_relabel_key,
        http=job.http_client(),
        strict=job.strict,
        legacy_names=shared.schemes[0] == "legacy",
        name_escaping=shared.schemes[1],
    )


def _shown(address: str) -> str:
    """An address as summaries and logs may show it: without any ``user:password@``."""
    return "<redacted>@" + address.rpartition("@")[2] if "@" in address else address


def _duration(labels: dict[str, str], name: str) -> float:
    try:
        return parse_duration(labels.get(name, ""))
    except FieldError:
        raise FieldError(f"invalid {name} label value {labels.get(name, '')!r}") from None


def _has_port(address: str) -> bool:
    if address.startswith("["):
        return "]:" in address
    return ":" in address


def _url(
    scheme: str, address: str, path: str, params: dict[str, tuple[str, ...]], labels: dict[str, str]
) -> str:
    """The scrape URL as Prometheus builds it (``__param_*`` overrides the first value)."""
    query = {name: list(values) for name, values in params.items()}
    for name, value in labels.items():
        if name.startswith(PARAM_PREFIX):
            key = name[len(PARAM_PREFIX) :]
            if query.get(key):
                query[key][0] = value
            else:
                query[key] = [value]
    encoded = urlencode([(k, v) for k in sorted(query) for v in query[k]])
    return f"{scheme}://{address}{path}" + (f"?{encoded}" if encoded else "")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
