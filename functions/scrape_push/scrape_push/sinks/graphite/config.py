"""``graphite[]``: one Graphite sink (carbon plaintext, pickle or UDP), decoded by the config decoder."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from ...backlog.config import BacklogConfig
from ...config.errors import FieldError
from ...config.values import parse_duration
from .convert import DEFAULT_TEMPLATE, PATH_SAFE, parse_template
from .limits import DEFAULT_MAX_AGE

DEFAULT_PORTS = {"plaintext": 2003, "udp": 2003, "pickle": 2004}
"""carbon.conf's default LINE_RECEIVER_PORT, UDP_RECEIVER_PORT and PICKLE_RECEIVER_PORT."""

MAX_BATCH_SIZE = 100_000
_ADDRESS = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9._-]+))(?::(?P<port>\d{1,5}))?$")


@dataclass(frozen=True)
class GraphiteConfig:
    """``graphite[]``: where and how to send samples to one carbon receiver."""

    address: str = field(metadata={"doc": "host:port of the receiver ([v6]:port for IPv6)"})
    name: str = field(default="", metadata={"derived": "the address"})
    protocol: Literal["plaintext", "pickle", "udp"] = "plaintext"
    mode: Literal["path", "tags"] = "path"
    prefix: str = field(default="", metadata={"doc": "dotted path put before every series name"})
    template: str | None = field(
        default=None,
        metadata={
            "doc": "path mode: how labels become path components",
            "derived": f"{DEFAULT_TEMPLATE} in mode path",
        },
    )
    connect_timeout: float = field(default=5.0, metadata={"parse": parse_duration})
    write_timeout: float = field(default=10.0, metadata={"parse": parse_duration})
    batch_size: int = field(
        default=1000, metadata={"doc": "lines per write (plaintext) or points per frame (pickle)"}
    )
    backlog: BacklogConfig = field(
        default_factory=BacklogConfig, metadata={"doc": "what is kept when the sink cannot be reached"}
    )

    @property
    def display_name(self) -> str:
        """``name``, else the address."""
        return self.name or self.address

    @property
    def sink_name(self) -> str:
        return f"graphite/{self.display_name}"

    @property
    def host_port(self) -> tuple[str, int]:
        """The receiver's host and port (the protocol's default port when none is given)."""
        match = _ADDRESS.match(self.address)
        if match is None:
            raise FieldError(f"invalid address {self.address!r} (expected host:port)", "address")
        port = int(match["port"]) if match["port"] else DEFAULT_PORTS[self.protocol]
        return match["v6"] or match["host"], port

    def resolve(self) -> GraphiteConfig:
        """The name (the address unless set), the path template and the backlog's window."""
        template = DEFAULT_TEMPLATE if self.template is None and self.mode == "path" else self.template
        return replace(
            self,
            name=self.display_name,
            template=template,
            backlog=self.backlog.with_max_age(DEFAULT_MAX_AGE),
        )

    def check(self) -> None:
        _, port = self.host_port
        if not 1 <= port <= 65535:
            raise FieldError(f"port {port} is out of range", "address")
        if self.prefix and not all(PATH_SAFE.fullmatch(part) for part in self.prefix.split(".")):
            raise FieldError(
                "must be dot-separated, non-empty components of letters, digits and _ - :", "prefix"
            )
        if self.template is not None:
            if self.mode != "path":
                raise FieldError("only applies to mode 'path'", "template")
            try:
                parse_template(self.template)
            except ValueError as exc:
                raise FieldError(str(exc), "template") from None
        for key in ("connect_timeout", "write_timeout"):
            if getattr(self, key) <= 0:
                raise FieldError("must be greater than 0", key)
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise FieldError(f"must be between 1 and {MAX_BATCH_SIZE}", "batch_size")
