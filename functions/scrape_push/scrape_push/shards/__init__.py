"""Scale-out: one schedule, a fleet split over concurrent invocations fed by SQS.

The scheduled invocation *plans* the cycle (``plan``): it builds the target list once
(discovery and relabeling run only here), sizes the cycle against what one invocation can carry
(``sizing``, from the series counts recent cycles saw per target, kept in the state table by
``state``), and either runs it itself (the fleet fits one invocation) or assigns every target to
a shard by a stable hash (``assign``) and sends one message per shard (``message``, ``queue``).
The queue's event source mapping invokes the same function once per message; that invocation
runs its shard (``worker``): the planned targets, scraped and pushed like any cycle, with the
shard's own leases and backlogs. ``lineage`` says which shards' backlogs a shard must wait
behind, or drain, after the shard count changed. docs/scaling.md describes it for users.
"""
