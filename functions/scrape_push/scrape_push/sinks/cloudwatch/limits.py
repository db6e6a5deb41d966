"""CloudWatch's documented limits for PutMetricData (Amazon CloudWatch API Reference:
PutMetricData, MetricDatum and Dimension; CloudWatch service quotas)."""

MAX_DATUMS_PER_REQUEST = 1000
"""PutMetricData: at most 1,000 metrics (MetricDatum items) per request."""

MAX_REQUEST_BYTES = 1_000_000
"""PutMetricData: a request is limited to 1 MB; kept in decimal to stay clear of the edge."""

MAX_DIMENSIONS = 30
"""MetricDatum: at most 30 dimensions per metric."""

MAX_NAME_LENGTH = 255
"""MetricName and Dimension Name: 1 to 255 characters."""

MAX_DIMENSION_VALUE_LENGTH = 1024
"""Dimension Value: 1 to 1,024 characters."""

MAX_ABS_VALUE = 2.0**360
"""MetricDatum Value: must lie within -2^360 to 2^360; NaN and ±Infinity are not supported."""

MIN_ABS_VALUE = 2.0**-360
"""Older references also reject non-zero magnitudes below 2^-360; such values are sent as 0."""

MAX_PAST_SECONDS = 14 * 86400
"""MetricDatum Timestamp: at most two weeks in the past."""

MAX_FUTURE_SECONDS = 2 * 3600
"""MetricDatum Timestamp: at most two hours in the future."""

MAX_VALUES_PER_DATUM = 150
"""MetricDatum Values/Counts: at most 150 distinct values per datum."""

UNITS = frozenset(
    {
        *("Seconds", "Microseconds", "Milliseconds", "Percent", "Count", "Count/Second", "None"),
        *(
            f"{size}{unit if size else unit.title()}{rate}"
            for size in ("", "Kilo", "Mega", "Giga", "Tera")
            for unit in ("bytes", "bits")
            for rate in ("", "/Second")
        ),
    }
)
"""MetricDatum Unit: the standard units CloudWatch accepts."""

EMF_MAX_METRICS_PER_DOCUMENT = 100
"""Embedded metric format specification: at most 100 MetricDefinition objects per directive."""

EMF_MAX_DIMENSIONS_PER_SET = 30
"""Embedded metric format specification: at most 30 dimension keys per DimensionSet."""

EMF_MAX_VALUES_PER_METRIC = 100
"""Embedded metric format specification: a numeric array target holds at most 100 values."""

EMF_MAX_DOCUMENT_BYTES = 256 * 1024
"""A log event (and so an EMF document) is at most 256 KB; documents stay far below it."""

DEFAULT_MAX_AGE = 13 * 86400.0
"""``backlog.max_age`` default: PutMetricData accepts timestamps up to two weeks old; a day is
kept back so an item replayed near its limit is still accepted."""
