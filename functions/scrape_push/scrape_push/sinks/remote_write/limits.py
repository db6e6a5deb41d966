"""Remote Write 1.0 protocol constants and Prometheus's remote_write defaults.

Sources: the Prometheus Remote-Write 1.0 specification, and the ``remote_write`` section of
Prometheus's configuration documentation (the defaults of Prometheus 2.x's queue manager).
"""

CONTENT_TYPE = "application/x-protobuf"
CONTENT_ENCODING = "snappy"
"""Snappy *block* format; the framed (streaming) format is not allowed by the specification."""

PROTOCOL_VERSION_HEADER = "X-Prometheus-Remote-Write-Version"
PROTOCOL_VERSION = "0.1.0"
"""Remote Write 1.0 senders announce version 0.1.0."""

DEFAULT_REMOTE_TIMEOUT = 30.0
"""``remote_timeout``: the timeout of one request, in seconds."""

DEFAULT_MAX_SAMPLES_PER_SEND = 2000
"""``queue_config.max_samples_per_send``: samples per request. Prometheus's default since 2.44
(raised from 500 because per-request overhead dominates small requests, at the sender and at
the receiver); set 500 to match an older Prometheus."""

DEFAULT_MIN_BACKOFF = 0.03
"""``queue_config.min_backoff``: the first retry waits this long (30ms)."""

DEFAULT_MAX_BACKOFF = 5.0
"""``queue_config.max_backoff``: the backoff doubles up to this (5s)."""

DEFAULT_METADATA_MAX_SAMPLES_PER_SEND = 500
"""``metadata_config.max_samples_per_send``: metadata entries per request."""

MAX_RETRY_AFTER = 60.0
"""A ``Retry-After`` longer than this is treated as this (the deadline bounds it anyway)."""

MAX_ANSWER_BYTES = 64 * 1024
"""At most this much of an answer is read: a success carries no body worth reading (Remote
Write 1.0 asks for none) and an error a short message; beyond it the connection is closed
rather than drained (Prometheus drains an answer within the request's timeout, unbounded)."""

MAX_ERROR_BODY_BYTES = 256
"""At most this much of a rejecting response's body is quoted in errors and logs."""

MIN_TIMESTAMP_MS = -(2**63)
MAX_TIMESTAMP_MS = 2**63 - 1
"""``Sample.timestamp`` is an int64 of milliseconds (remote.proto): a sample whose timestamp lies
outside it cannot be encoded and is dropped as ``timestamp_out_of_range``."""

CONNECT_SHARE = 0.25
"""Of a request's timeout, the part given to connecting; the rest waits for the answer.
``requests`` applies a timeout to the connection and again to each read, so the two are split
to keep their sum within ``remote_timeout`` and the deadline."""

MIN_SECONDS_TO_SEND = 0.5
"""A request (or a retry) is not started with less time than this before the deadline."""

DEFAULT_MAX_AGE = 3600.0
"""``backlog.max_age`` default: Prometheus (and Mimir, Thanos, Amazon Managed Service for
Prometheus, without an out-of-order window) refuses samples more than about an hour older than
the newest sample in its head block ("out of bounds"), so older backlog is unreplayable."""

AMP_SERVICE = "aps"
"""The SigV4 service name of Amazon Managed Service for Prometheus (its remote write API
reference), the default of a Remote Write ``sigv4`` block as in Prometheus."""
