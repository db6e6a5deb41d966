"""Secrets in the configuration: given inline or as a reference to an SSM SecureString.

A secret value is held in a ``Secret``, whose ``repr``/``str`` never show it, so a config
object can be logged, compared or put in an error message without leaking it. A server can
still echo a secret back (an ``Authorization`` header quoted in an error body), so every value
this process has held as a ``Secret``, with the forms it travels in (``base64(user:password)``
of basic auth, JSON- and repr-escaped), is also removed from text before the text leaves the
process: ``scrub`` is applied at the boundaries (scrape and sink errors, the summary, backlog
item headers, every log line through ``ScrubbingFormatter``), and it masks the ``user:password@``
of any URL in the text too. A reference
(``password_ssm_parameter: /scrape-push/remote-write-password``) is read with Powertools
Parameters (decrypted, cached for ``POWERTOOLS_PARAMETERS_MAX_AGE`` seconds across warm
invocations) through the shared boto3 SSM client.

>>> secret = Secret("hunter2")
>>> secret
Secret('********')
>>> secret.reveal()
'hunter2'
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import threading
from urllib.parse import unquote, urlsplit

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.utilities import parameters

from . import aws

MASK = "********"
URL_CREDENTIALS = re.compile(r"://[^\s/@'\"<>]*+@")
"""The ``user:password@`` of a URL in free text (possessive, so linear on any input)."""
URL_CREDENTIALS_SHOWN = "://<redacted>@"


class Scrubber:
    """The secret values this process has held, and their removal from text.

    Values are replaced longest first, so a derived form that contains another secret
    (``Bearer <token>``) is removed whole. Empty values are ignored.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._ordered: tuple[str, ...] = ()

    def add(self, value: str) -> None:
        """Remember ``value`` and the escaped forms a log line or an error may carry it in."""
        forms = {value, json.dumps(value)[1:-1], repr(value)[1:-1]} - {""}
        with self._lock:
            if forms <= self._forms:
                return
            self._forms |= forms
            self._ordered = tuple(sorted(self._forms, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        """``text`` without any remembered secret and without URL credentials."""
        if "://" in text:
            text = URL_CREDENTIALS.sub(URL_CREDENTIALS_SHOWN, text)
        for form in self._ordered:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def clear(self) -> None:
        with self._lock:
            self._forms = set()
            self._ordered = ()


_scrubber = Scrubber()
"""The one registry of secret values (owned here, emptied by ``reset``)."""


def remember(value: str) -> None:
    """Scrub ``value`` from now on (a ``Secret`` does this itself; derived forms call it)."""
    _scrubber.add(value)


def remember_basic_auth(username: str, password: str) -> None:
    """Scrub the ``Authorization: Basic`` value of ``username``/``password`` (encoded as
    requests encodes it) as well as the password."""
    remember(password)
    raw = f"{username}:{password}"
    try:
        encoded = raw.encode("latin1")
    except UnicodeEncodeError:
        encoded = raw.encode()
    remember(base64.b64encode(encoded).decode())


def remember_url_password(url: str) -> None:
    """Scrub the password of a URL's ``user:password@`` (a ``proxy_url``) in every form."""
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
    except ValueError:
        return
    if password:
        remember(password)
        remember_basic_auth(unquote(username or ""), unquote(password))


def scrub(text: str) -> str:
    """``text`` as it may leave the process: no secret value, no URL credentials."""
    return _scrubber.scrub(text)


def scrub_all(value: object) -> object:
    """``value`` (strings, lists, tuples and dicts of them, as in a summary) with every string
    scrubbed; other values unchanged."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: scrub_all(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_all(item) for item in value]
    return value


class ScrubbingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON log lines, scrubbed after formatting (so every field is covered)."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class SecretError(Exception):
    """A referenced secret could not be read; the message names the reference, never a value."""


class Secret:
    """A secret string that never appears in ``repr``, ``str``, logs or summaries."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        remember(value)

    def masked(self) -> str:
        """What to show instead of the secret (``show``, summaries)."""
        return MASK

    def reveal(self) -> str:
        """The secret itself: call this only where it is sent."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))


_lock = threading.Lock()
_provider: parameters.SSMProvider | None = None


def resolve(inline: Secret | None, parameter: str | None) -> Secret | None:
    """The secret given inline, or read from SSM parameter ``parameter`` (decrypted, cached)."""
    if parameter is None:
        return inline
    global _provider
    with _lock:
        if _provider is None:
            _provider = parameters.SSMProvider(boto3_client=aws.per_call("ssm"))
        provider = _provider
    try:
        value = provider.get(parameter, decrypt=True)
    except parameters.exceptions.GetParameterError as exc:
        cause = exc.__cause__ or exc
        raise SecretError(f"cannot read SSM parameter {parameter!r}: {type(cause).__name__}") from None
    if not isinstance(value, str):
        raise SecretError(f"SSM parameter {parameter!r} did not hold text")
    return Secret(value)


def reset() -> None:
    """Forget the SSM provider, its cache and the secret values to scrub (tests)."""
    global _provider
    with _lock:
        _provider = None
    _scrubber.clear()
