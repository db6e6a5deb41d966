"""OTLP/HTTP protocol constants, the OTLP sink's defaults, and CloudWatch's documented limits.

Sources: the OTLP specification (opentelemetry-proto ``docs/specification.md``, "OTLP/HTTP");
Amazon CloudWatch User Guide, "OTLP Endpoints" (``CloudWatch-OTLPEndpoint``, the metrics
endpoint's limits table) and "Send metrics using OpenTelemetry" (``metrics-otel-send``).
"""

CONTENT_TYPE = "application/x-protobuf"
"""OTLP/HTTP binary protobuf payloads (the JSON encoding is not used)."""

DEFAULT_TIMEOUT = 10.0
"""``timeout``: one request's time, as the OpenTelemetry SDKs' OTLP exporters default to."""

DEFAULT_MIN_BACKOFF = 0.5
DEFAULT_MAX_BACKOFF = 5.0
"""``min_backoff``/``max_backoff``: the OTLP specification asks for exponential backoff with
jitter without numbers; the Collector's (5 s doubling to 30 s) would outlast a one-minute cycle,
so retries start at half a second and double up to 5 s. What does not get through before the
send deadline waits in the backlog."""

MAX_RETRY_AFTER = 60.0
"""A ``Retry-After`` longer than this is treated as this (the deadline bounds it anyway)."""

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
"""OTLP/HTTP: the only statuses a client SHOULD retry; every other 4xx and 5xx MUST NOT be."""

MAX_RESPONSE_BYTES = 64 * 1024
"""At most this much of an answer is read (an export response or an error status is tiny)."""

MAX_ERROR_CHARS = 256
"""At most this much of a receiver's error message is quoted in errors and logs."""

CONNECT_SHARE = 0.25
"""Of a request's time, the part given to connecting; the rest waits for the answer."""

MIN_SECONDS_TO_SEND = 0.5
"""A request (or a retry) is not started with less time than this before the deadline."""

DEFAULT_MAX_DATA_POINTS = 1000
"""``max_data_points_per_request`` for any receiver: CloudWatch's own limit, and at the size of
the Collector's and the SDKs' usual batches."""

DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""``max_request_size`` (uncompressed) for a receiver other than CloudWatch: well below the
Collector's OTLP receiver's default body limit (20 MiB, ``confighttp.max_request_body_size``)."""

DEFAULT_MAX_AGE = 3600.0
"""``backlog.max_age`` default: an OTLP receiver's own window is not documented (CloudWatch's
metrics endpoint gives none); a Collector commonly forwards to Prometheus-compatible stores,
which refuse samples about an hour older than their newest, so older backlog is discarded."""

# CloudWatch's OTLP metrics endpoint (CloudWatch-OTLPEndpoint, metrics table; metrics-otel-send).

CLOUDWATCH_ENDPOINT = "https://monitoring.{region}.amazonaws.com/v1/metrics"
"""The metrics endpoint of a Region."""

CLOUDWATCH_SERVICE = "monitoring"
"""The SigV4 service name of the endpoint."""

CLOUDWATCH_MAX_REQUEST_BYTES = 1_000_000
"""Maximum request size: 1 MB uncompressed (HTTP 400 beyond); kept in decimal, clear of the edge."""

CLOUDWATCH_MAX_DATA_POINTS = 1000
"""Maximum datapoint count: 1,000 per request, summed across all resources, scopes and metrics
(HTTP 400 beyond)."""

CLOUDWATCH_MAX_LABELS = 150
"""Maximum label count: 150 across the resource, scope and data point attributes of a data point
(the whole request is refused when every point breaks it, the point alone otherwise)."""

CLOUDWATCH_MAX_METADATA_BYTES = 40 * 1024
"""Maximum metadata size: 40 KB, the combined size of all labels and label values of a data
point's series. Counted here over the metric name and the resource, scope and point attributes'
keys and values, UTF-8."""
