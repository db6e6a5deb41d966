"""Turn ``scrape_configs`` into concrete scrape targets with Prometheus's label rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .config.model import (
    DEFAULT_BODY_SIZE_LIMIT,
    DEFAULT_SCRAPE_INTERVAL,
    DEFAULT_SCRAPE_TIMEOUT,
    Config,
    ScrapeConfig,
)
from .limits import ScrapeLimits
from .model import Labels, sort_labels


@dataclass(frozen=True)
class Target:
    """One endpoint to scrape, with the labels its series will carry."""

    job: str
    url: str
    labels: Labels
    """Target labels (``job``, ``instance``, static labels), sorted."""
    external_labels: Labels
    """``global.external_labels``: added to every series that lacks them."""
    timeout: float
    interval: float
    honor_labels: bool
    honor_timestamps: bool
    body_size_limit: int
    limits: ScrapeLimits = field(default_factory=ScrapeLimits)
    follow_redirects: bool = True
    proxy_url: str | None = None

    @property
    def instance(self) -> str:
        return dict(self.labels).get("instance", "")


def build_targets(config: Config, jobs: Iterable[str] | None = None) -> list[Target]:
    """Every target of every job, or of the named ``jobs`` only (unknown names are ignored)."""
    wanted = None if jobs is None else set(jobs)
    out: list[Target] = []
    for job in config.scrape_configs:
        if wanted is None or job.job_name in wanted:
            out.extend(_job_targets(config, job))
    return out


def _job_targets(config: Config, job: ScrapeConfig) -> Iterable[Target]:
    glob = config.global_
    interval = job.scrape_interval or glob.scrape_interval or DEFAULT_SCRAPE_INTERVAL
    timeout = job.scrape_timeout or glob.scrape_timeout or min(DEFAULT_SCRAPE_TIMEOUT, interval)
    limits = ScrapeLimits(
        job.sample_limit, job.label_limit, job.label_name_length_limit, job.label_value_length_limit
    )
    query = urlencode([(k, v) for k, values in job.params.items() for v in values])
    for group in job.static_configs:
        for address in group.targets:
            labels = dict(group.labels)
            # Prometheus: job and instance are defaults that explicit target labels override.
            labels.setdefault("job", job.job_name)
            labels.setdefault("instance", address)
            url = f"{job.scheme}://{address}{job.metrics_path}" + (f"?{query}" if query else "")
            yield Target(
                job=job.job_name,
                url=url,
                labels=sort_labels(labels),
                external_labels=sort_labels(glob.external_labels),
                timeout=timeout,
                interval=interval,
                honor_labels=job.honor_labels,
                honor_timestamps=job.honor_timestamps,
                body_size_limit=job.body_size_limit or DEFAULT_BODY_SIZE_LIMIT,
                limits=limits,
                follow_redirects=job.follow_redirects,
                proxy_url=job.proxy_url,
            )
