"""HTTP discovery, as Prometheus's ``discovery/http`` does it, against an endpoint that may be
as hostile as any target.

``GET <url>`` with ``Accept: application/json`` and ``X-Prometheus-Refresh-Interval-Seconds``;
the answer must be ``200``, of ``Content-Type`` ``application/json`` (with at most a UTF-8
charset), and a JSON list of ``{"targets": [...], "labels": {...}}`` groups. Every target gets
its group's labels and ``__meta_url``. The request runs like a scrape: its connections are cut
at its deadline (even from an endpoint that sends a byte a second), its redirects may not lead
to loopback, link-local or metadata addresses, and its answer is read up to
``MAX_RESPONSE_BYTES`` (Prometheus reads any size; a function's memory needs a bound).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import requests
import urllib3.exceptions

from ... import __version__
from ...config.values import LABEL_NAME, format_duration
from ...credentials import SecretError
from ...deadline import Deadline
from ...guard import Aborted, Guard, guarding
from ...httpconfig import ClientAuth, TLSConfigError, new_session, root_cause, tls_arguments
from ...plugins import BuildContext
from ...reach import Reach, ReachRefused
from .. import Discovered, DiscoveryError, LabelSet
from .config import HTTPSDConfig

MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""The most of an answer read: some 100,000 targets with a few labels each. A larger answer
fails the refresh (the last targets are kept)."""
READ_CHUNK_BYTES = 64 * 1024
URL_LABEL = "__meta_url"
USER_AGENT = f"scrape-push/{__version__}"
WHAT = "http_sd_configs"


class HTTPDiscoverer:
    """One ``http_sd_configs`` entry (a ``Discoverer``), with its pooled session and its
    ``ClientAuth`` kept warm (an OAuth 2.0 token lives until it expires)."""

    def __init__(self, config: HTTPSDConfig, context: BuildContext) -> None:
        self.config = config
        self.auth = ClientAuth(config.http, context)
        self.session = new_session(config.http.tls_config, 1, context.secrets)
        self.reach = Reach(config.url)

    def discover(self, deadline: Deadline) -> Discovered:
        return Discovered(list(target_groups(self._fetch(deadline), self.config.url)))

    def _fetch(self, deadline: Deadline) -> bytes:
        """The endpoint's answer, read within ``deadline`` (its connections cut then)."""
        url = self.config.url
        left = deadline.remaining()
        if left <= 0:
            raise DiscoveryError(f"{WHAT}: {url}: no time left to ask it")
        cut = Guard(deadline.clock() + left, self.reach, self.config.http.proxy.proxied, deadline.clock)
        timer = threading.Timer(left, cut.abort)  # the guard's watch: no scrape's Watch runs here
        timer.daemon = True
        timer.start()
        failure = None
        try:
            with guarding(cut):
                return self._get(left)
        except (ReachRefused, SecretError, TLSConfigError) as exc:
            failure = str(exc)
        except (Aborted, requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            failure = f"timed out after {format_duration(left)}" if cut.aborted else root_cause(exc)
        finally:
            timer.cancel()
        raise DiscoveryError(f"{WHAT}: {url}: {failure}")

    def _get(self, timeout: float) -> bytes:
        http = self.config.http
        url = self.config.url
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": USER_AGENT,
            "X-Prometheus-Refresh-Interval-Seconds": _seconds(self.config.refresh_interval),
        }
        verify, cert = tls_arguments(http.tls_config)
        with self.session.get(
            url,
            headers=headers,
            timeout=(timeout, timeout),
            stream=True,
            allow_redirects=http.follow_redirects,
            auth=self.auth,
            verify=verify,
            cert=cert,
        ) as response:
            if response.status_code != 200:
                raise DiscoveryError(
                    f"{WHAT}: {url}: server returned HTTP status {response.status_code} {response.reason}"
                )
            content_type = response.headers.get("Content-Type", "")
            if not json_content_type(content_type):
                raise DiscoveryError(f"{WHAT}: {url}: unsupported content type {content_type[:80]!r}")
            return _read(response, url)


def _read(response: requests.Response, url: str) -> bytes:
    pieces: list[bytes] = []
    size = 0
    for piece in response.raw.stream(READ_CHUNK_BYTES, decode_content=False):
        size += len(piece)
        if size > MAX_RESPONSE_BYTES:
            raise DiscoveryError(f"{WHAT}: {url}: the answer is larger than {MAX_RESPONSE_BYTES} bytes")
        pieces.append(piece)
    return b"".join(pieces)


def json_content_type(value: str) -> bool:
    """Prometheus's check, ``^(?i:application/json(;\\s*charset=("utf-8"|utf-8))?)$`` on the
    trimmed value, without a regex."""
    text = value.strip().lower()
    if text == "application/json":
        return True
    media, sep, rest = text.partition(";")
    return media == "application/json" and bool(sep) and rest.lstrip() in ("charset=utf-8", 'charset="utf-8"')


def target_groups(body: bytes, url: str) -> Iterator[LabelSet]:
    """Every target of an HTTP SD answer, with its group's labels and ``__meta_url``."""
    try:
        groups = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise DiscoveryError(f"{WHAT}: {url}: the answer is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise DiscoveryError(
            f"{WHAT}: {url}: invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError):  # a number of 4,300 digits; arrays nested too deep
        raise DiscoveryError(f"{WHAT}: {url}: invalid JSON") from None
    if not isinstance(groups, list):
        raise DiscoveryError(f"{WHAT}: {url}: expected a JSON list of target groups, got {_kind(groups)}")
    for index, group in enumerate(groups):
        labels, targets = _group(group, index, url)
        for target in targets:
            yield {**labels, "__address__": target}


def _group(group: Any, index: int, url: str) -> tuple[LabelSet, list[str]]:
    where = f"{WHAT}: {url}: target group {index}"
    if group is None:
        raise DiscoveryError(f"{where}: nil target group item found")
    if not isinstance(group, dict):
        raise DiscoveryError(f"{where}: expected an object, got {_kind(group)}")
    targets = group.get("targets") or []
    labels = group.get("labels") or {}
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise DiscoveryError(f"{where}: 'targets' must be a list of strings")
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise DiscoveryError(f"{where}: 'labels' must map label names to strings")
    for name in labels:
        if not LABEL_NAME.fullmatch(name):
            raise DiscoveryError(f"{where}: invalid label name {name[:60]!r}")
    return {**labels, URL_LABEL: url}, targets


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _seconds(seconds: float) -> str:
    """Seconds as Go's ``strconv.FormatFloat(s, 'f', -1, 64)`` writes them (``60``, ``0.5``)."""
    text = repr(float(seconds))
    return text[:-2] if text.endswith(".0") else text
