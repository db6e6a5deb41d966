"""Turn ``scrape_configs`` into concrete scrape targets with Prometheus's label rules.

Each cycle first refreshes the discoveries that are due (``discovery.refresh``). For every
discovered address (``static_configs`` and every ``*_sd_configs``) the target's label
set starts as Prometheus builds it: the group's labels, ``__address__``, ``job``,
``__scheme__``, ``__metrics_path__``, ``__scrape_interval__``, ``__scrape_timeout__`` and one
``__param_<name>`` per ``params`` entry. ``relabel_configs`` then run; a target they drop is
gone, and one left without ``__address__`` (or with an invalid interval, timeout or label) is
reported as an error. Afterwards ``__meta_*`` and every other ``__``-prefixed label are
removed from the labels its series carry, ``instance`` defaults to the address, and the URL
comes from ``__scheme__``, ``__address__``, ``__metrics_path__`` and ``__param_*``. Every target
of a job carries the job's ``httpconfig.ClientAuth`` (its headers, authentication and proxy),
kept warm across cycles.

A job with more distinct targets than its ``target_limit`` scrapes none of them: each is
reported failed with Prometheus's message. Targets relabeling dropped are counted, and listed
(with the labels they were discovered with) up to the job's ``keep_dropped_targets``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
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
from .discovery.refresh import Build, Refresher, build_plugin
from .httpconfig import ClientAuth, HTTPClientConfig
from .limits import ScrapeLimits
from .model import Labels, sort_labels
from .negotiation import DEFAULT_NEGOTIATION, DEFAULT_SCRAPE_PROTOCOLS, Negotiation, negotiation
from .parse import Histograms
from .plugins import BuildContext
from .relabel import NO_RULES, RelabelRules, compile_rules, relabel

ADDRESS, SCHEME, METRICS_PATH = "__address__", "__scheme__", "__metrics_path__"
INTERVAL, TIMEOUT, PARAM_PREFIX = "__scrape_interval__", "__scrape_timeout__", "__param_"
DEFAULT_PORTS = {"http": "80", "https": "443"}
"""Prometheus 2.x adds the scheme's port to an address that has none."""
MAX_LISTED_DROPPED_TARGETS = 1000
"""Dropped targets a job lists at most (``keep_dropped_targets`` 0, "no limit" in Prometheus,
lists this many): each is a few hundred bytes of the invocation's summary, and a synchronous
invocation's response is at most 6 MB (AWS Lambda quotas)."""


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
    negotiation: Negotiation = DEFAULT_NEGOTIATION
    """What the scrape asks for (``Accept``, ``Accept-Encoding``) and how it reads the answer."""
    auth: ClientAuth | None = field(default=None, compare=False, repr=False)
    """What the job adds to each request (headers, authentication, proxy); ``None``: nothing."""
    strict: bool = False
    """Parse as the format specs say, not as leniently as Prometheus 2.42 (``ScrapeConfig.strict``)."""
    legacy_names: bool = False
    """``metric_name_validation_scheme: legacy``: a metric or label name outside Prometheus's
    legacy character set fails the scrape."""
    track_timestamps_staleness: bool = False
    """Series exposed with their own timestamp get staleness markers too (``scrape/stale.py``)."""

    @property
    def instance(self) -> str:
        return dict(self.labels).get("instance", "")


@dataclass(frozen=True)
class TargetError:
    """A target that could not be built (discovery failed, relabeling left it invalid)."""

    job: str
    target: str
    error: str


@dataclass(frozen=True)
class FailedTarget:
    """A target not to scrape, to report failed: its job has more targets than its
    ``target_limit``."""

    target: Target
    error: str


@dataclass(frozen=True)
class DroppedTarget:
    """A target ``relabel_configs`` dropped, with the labels it was discovered with."""

    job: str
    labels: Labels


@dataclass
class TargetSet:
    """What target building produced: the targets, and the errors met on the way."""

    targets: list[Target] = field(default_factory=list)
    errors: list[TargetError] = field(default_factory=list)
    failed: list[FailedTarget] = field(default_factory=list)
    """Targets of jobs over their ``target_limit``: reported failed, not scraped."""
    dropped: int = 0
    """Targets that ``relabel_configs`` dropped (as intended, not errors)."""
    dropped_targets: list[DroppedTarget] = field(default_factory=list)
    """Those of them listed, up to each job's ``keep_dropped_targets``."""


class Discoveries(Refresher):
    """What target building keeps warm across a pipeline's cycles: every discovery entry's
    discoverer and last known targets (``Refresher``), and each job's ``ClientAuth``."""

    def __init__(
        self, context: BuildContext, clock: Callable[[], float] = time.monotonic, build: Build = build_plugin
    ) -> None:
        super().__init__(context, clock, build)
        self._auths: dict[str, tuple[HTTPClientConfig, ClientAuth]] = {}

    def auth_of(self, job: ScrapeConfig) -> ClientAuth:
        """The job's ``ClientAuth`` (its OAuth 2.0 token and SigV4 credentials kept warm)."""
        found = self._auths.get(job.job_name)
        if found is None or found[0] is not job.http:
            found = self._auths[job.job_name] = (job.http, ClientAuth(job.http, self.context))
        return found[1]


def build_targets(config: Config, jobs: Iterable[str] | None, discoveries: Discoveries) -> TargetSet:
    """Every target of every job, or of the named ``jobs`` only (their due discoveries refreshed
    first)."""
    wanted = None if jobs is None else set(jobs)
    selected = [job for job in config.scrape_configs if wanted is None or job.job_name in wanted]
    discoveries.refresh(
        ((job.job_name, key, index), entry)
        for job in selected
        for key, entries in job.discovery.items()
        for index, entry in enumerate(entries)
    )
    out = TargetSet()
    for job in selected:
        _job_targets(config, job, discoveries, out)
    return out


def _job_targets(config: Config, job: ScrapeConfig, discoveries: Discoveries, out: TargetSet) -> None:
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
    schemes = job.name_schemes(glob)
    shared = _Shared(
        job=job,
        external=sort_labels(glob.external_labels),
        limits=ScrapeLimits(
            job.sample_limit,
            job.label_limit,
            job.label_name_length_limit,
            job.label_value_length_limit,
            job.native_histogram_bucket_limit,
            job.native_histogram_min_bucket_factor,
        ),
        metric_relabel=compile_rules(job.metric_relabel_configs),
        metric_relabel_key=_digest(repr(job.metric_relabel_configs)),
        negotiation=negotiation(
            job.scrape_protocols or DEFAULT_SCRAPE_PROTOCOLS,
            job.fallback_scrape_protocol,
            job.enable_compression,
            schemes[1],
            Histograms(bool(job.scrape_native_histograms), bool(job.always_scrape_classic_histograms)),
        ),
        auth=discoveries.auth_of(job),
        schemes=schemes,
    )
    listed = min(job.keep_dropped_targets or MAX_LISTED_DROPPED_TARGETS, MAX_LISTED_DROPPED_TARGETS)
    built: list[Target] = []
    for group in _groups(job, discoveries, out):
        start = {**base, **{f"{PARAM_PREFIX}{k}": v[0] for k, v in job.params.items() if v}}
        for name, value in group.items():
            if value or name not in start:
                start[name] = value
        labels = relabel(start, rules)
        if labels is None:
            out.dropped += 1
            if listed:
                listed -= 1
                out.dropped_targets.append(DroppedTarget(job.job_name, _discovered(start)))
            continue
        try:
            built.append(_target(labels, shared))
        except FieldError as exc:
            out.errors.append(TargetError(job.job_name, _shown(start.get(ADDRESS, "")), str(exc)))
    _within_target_limit(job.target_limit, built, out)


def _within_target_limit(limit: int, built: list[Target], out: TargetSet) -> None:
    """A job's targets to scrape, or, when it has more distinct ones than ``limit`` (0: none),
    every one of them failed with Prometheus's message (``scrapePool.refreshTargetLimitErr``)."""
    count = len({(target.url, target.labels) for target in built})
    if not limit or count <= limit:
        out.targets.extend(built)
        return
    error = f"target_limit exceeded (number of targets: {count}, limit: {limit})"
    out.failed.extend(FailedTarget(target, error) for target in built)


@dataclass(frozen=True)
class _Shared:
    """What every target of one job has in common."""

    job: ScrapeConfig
    external: Labels
    limits: ScrapeLimits
    metric_relabel: RelabelRules
    metric_relabel_key: str
    negotiation: Negotiation
    auth: ClientAuth
    schemes: tuple[str, str]
    """The job's metric name validation and escaping schemes."""


def _groups(job: ScrapeConfig, discoveries: Discoveries, out: TargetSet) -> Iterator[dict[str, str]]:
    """Every discovered label set of the job: static targets, then each discovery's, in key order."""
    for group in job.static_configs:
        for address in group.targets:
            yield {**group.labels, ADDRESS: address}
    for key, entries in job.discovery.items():
        for index in range(len(entries)):
            found, error = discoveries.found((job.job_name, key, index))
            if error is not None:
                out.errors.append(TargetError(job.job_name, join_index(key, index), error))
            yield from found


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
        track_timestamps_staleness=job.track_timestamps_staleness,
        body_size_limit=job.body_size_limit or DEFAULT_BODY_SIZE_LIMIT,
        limits=shared.limits,
        metric_relabel=shared.metric_relabel,
        metric_relabel_key=shared.metric_relabel_key,
        http=job.http,
        negotiation=shared.negotiation,
        auth=shared.auth,
        strict=job.strict,
        legacy_names=shared.schemes[0] == "legacy",
    )


def _shown(address: str) -> str:
    """An address as summaries and logs may show it: without any ``user:password@``."""
    return "<redacted>@" + address.rpartition("@")[2] if "@" in address else address


def _discovered(labels: dict[str, str]) -> Labels:
    """A target's labels before relabeling, as summaries may show them (``_shown`` address)."""
    return sort_labels({**labels, ADDRESS: _shown(labels.get(ADDRESS, ""))})


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
