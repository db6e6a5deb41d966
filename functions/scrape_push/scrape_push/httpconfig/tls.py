"""A ``tls_config`` as an ``SSLContext``.

TLS material may be given as a file (e.g. shipped in a layer under /opt) or inline PEM. Inline
CAs are loaded from memory; the ``ssl`` module reads a client certificate and key only from
files, so inline ones are handed to it as anonymous in-memory files (``memfd``, Linux) or,
where those do not exist, as 0600 files in a private directory removed right after loading.
Nothing is left on disk.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import requests
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.util.ssl_ import create_urllib3_context

from ..credentials import Secret, SecretResolver
from .options import TLSConfig


class TLSConfigError(requests.RequestException):
    """Inline or file TLS material the ``ssl`` module refuses; the message names the key. A
    request error, so a sink's transport reports it as it reports a failed request."""


def tls_arguments(tls: TLSConfig) -> tuple[bool, None]:
    """``verify`` and ``cert`` for requests. A session from ``new_session(tls)`` carries the
    material itself (its adapter's ``SSLContext``), so only whether to verify is passed."""
    return not tls.insecure_skip_verify, None


def ssl_context(tls: TLSConfig, key: Secret | None) -> ssl.SSLContext:
    """The ``SSLContext`` of a ``tls_config`` (``key``: its client key, resolved)."""
    verify = not tls.insecure_skip_verify
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED if verify else ssl.CERT_NONE)
    what = "ca"
    try:
        if verify and tls.ca is not None:
            context.load_verify_locations(cadata=tls.ca)
        elif verify:
            what = "ca_file"
            context.load_verify_locations(cafile=tls.ca_file or DEFAULT_CA_BUNDLE_PATH)
        if tls.cert is not None or tls.cert_file is not None:
            what = "cert/key"
            with ExitStack() as files:
                cert_path = tls.cert_file or files.enter_context(_memory_file(tls.cert or ""))
                key_path = tls.key_file or files.enter_context(_memory_file(key.reveal() if key else ""))
                context.load_cert_chain(cert_path, key_path)
    except OSError as exc:  # ssl.SSLError included; its reason names no material
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise TLSConfigError(f"tls_config {what}: not usable ({reason})") from None
    return context


class KeptContext:
    """A ``tls_config``'s ``SSLContext``, built at first use and again when its client key (read
    from SSM through ``secrets``) has changed; thread-safe. Each holder has its own: urllib3 sets
    a context's verification on every connection it makes with it."""

    def __init__(self, tls: TLSConfig, secrets: SecretResolver) -> None:
        self.tls = tls
        self.secrets = secrets
        self._lock = threading.Lock()
        self._context: tuple[str, ssl.SSLContext] | None = None

    def get(self) -> ssl.SSLContext:
        key = self.secrets.resolve(self.tls.key, self.tls.key_ssm_parameter)
        digest = hashlib.sha256(key.reveal().encode()).hexdigest() if key else ""
        with self._lock:
            if self._context is None or self._context[0] != digest:
                self._context = (digest, ssl_context(self.tls, key))
            return self._context[1]


@contextmanager
def _memory_file(content: str) -> Iterator[str]:
    """A path the ``ssl`` module can read ``content`` from, gone when the block ends."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("scrape-push-tls", os.MFD_CLOEXEC)
        try:
            _write_all(fd, content.encode())
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    directory = tempfile.mkdtemp(prefix="scrape-push-")  # 0700, this process's user only
    try:
        path = os.path.join(directory, "material.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, content.encode())
        finally:
            os.close(fd)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
