"""Durable delivery: what a sink cannot deliver waits in S3 and is replayed in order.

``config`` (the ``backlog:`` section of a sink), ``spool`` (the format of one item), ``store``
(S3), ``lease`` (DynamoDB, against overlapping invocations), ``durable`` (the sink wrapper).
"""
