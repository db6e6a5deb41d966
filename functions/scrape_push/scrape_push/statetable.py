"""The DynamoDB state table the template creates (named by ``settings.STATE_TABLE_ENV``): its
attribute names.

Two users share it: the CloudWatch sink's counter state (``sinks.cloudwatch.state``) and the
per-sink delivery leases (``backlog.lease``).
"""

KEY_ATTRIBUTE = "pk"
TTL_ATTRIBUTE = "expires_at"
"""Epoch seconds after which DynamoDB deletes the item (the table's TTL attribute)."""
