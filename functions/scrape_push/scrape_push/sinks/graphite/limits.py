"""What carbon accepts, as named constants (carbon 1.1 ``carbon.conf`` defaults and its receivers,
which are Twisted protocols; Graphite 1.1 documentation, "Graphite Tag Support")."""

PICKLE_MAX_FRAME_BYTES = 2**20
"""carbon.conf PICKLE_RECEIVER_MAX_LENGTH (1 MiB by default): a pickle frame whose declared
length is greater makes carbon drop the connection, losing everything after it."""

PICKLE_PROTOCOL = 2
"""The pickle protocol carbon's receiver documents (readable by Python 2 and 3 receivers)."""

MAX_LINE_BYTES = 16384
"""Twisted LineOnlyReceiver.MAX_LENGTH, carbon's plaintext receiver: a longer line makes carbon
drop the connection."""

UDP_READ_BYTES = 8192
"""Twisted's datagram read size, carbon's UDP receiver: anything past it in a datagram is cut."""

UDP_DATAGRAM_BYTES = 1452
"""Datagrams are packed up to this size: one 1500-byte Ethernet frame less the IPv6 (40) and
UDP (8) headers, so no datagram needs IP fragmentation. A longer single line goes alone."""

MAX_NAME_BYTES = 4000
"""A series name longer than this is dropped: its whole line then fits carbon's UDP read size and
its whisper file path fits the usual 4096-byte PATH_MAX."""

MAX_PATH_COMPONENT_BYTES = 251
"""A path component becomes a directory or whisper file name: NAME_MAX (255) less ``.wsp``."""

TAG_NAME_FORBIDDEN = ";!^="
"""Graphite tag names may hold any character except these (and are never empty)."""

TAG_VALUE_FORBIDDEN = ";"
"""Graphite tag values may hold any character except this, and must not start with ``~``."""

RESERVED_TAG = "name"
"""Carbon stores the metric name under the tag ``name``, replacing any tag sent with that name."""

DEFAULT_MAX_AGE = 86400.0
"""``backlog.max_age`` default: carbon's default storage schema keeps one day
(``60s:1d``); whisper silently ignores points older than its longest retention."""
