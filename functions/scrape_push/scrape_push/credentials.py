"""Secrets in the configuration: given inline or as a reference to an SSM SecureString.

A secret value is held in a ``Secret``, whose ``repr``/``str`` never show it, so a config
object can be logged, compared or put in an error message without leaking it. A server can
still echo a secret back (an ``Authorization`` header quoted in an error body), so every secret
of the configuration in use and every value read from SSM, with the forms it travels in
(``base64(user:password)`` of basic auth, JSON- and repr-escaped), is also removed from text
before the text leaves the process: the runtime's ``Scrubber`` is applied at the boundaries
(target errors, the summary, backlog item headers, every log line through
``ScrubbingFormatter``), and it masks the ``user:password@`` of any URL in the text too. A
reference (``password_ssm_parameter: /scrape-push/remote-write-password``) is read by the
runtime's ``SecretResolver`` when it is used.

>>> secret = Secret("hunter2")
>>> secret
Secret('********')
>>> secret.reveal()
'hunter2'
"""

from __future__ import annotations

import base64
import dataclasses
import hmac
import json
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from . import aws
from .ssm import ParameterStore, SSMError

MASK = "********"
URL_CREDENTIALS = re.compile(r"://[^\s/@'\"<>]*+@")
"""The ``user:password@`` of a URL in free text (possessive, so linear on any input)."""
URL_CREDENTIALS_SHOWN = "://<redacted>@"


class Scrubber:
    """The secret values this process holds, and their removal from text (owned by the runtime,
    ``runtime.Runtime``, and given to every component that lets text out).

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

    def add_basic_auth(self, username: str, password: str) -> None:
        """Remember the ``Authorization: Basic`` value of ``username``/``password`` (encoded as
        requests encodes it) as well as the password."""
        self.add(password)
        raw = f"{username}:{password}"
        try:
            encoded = raw.encode("latin1")
        except UnicodeEncodeError:
            encoded = raw.encode()
        self.add(base64.b64encode(encoded).decode())

    def add_url_password(self, url: str) -> None:
        """Remember the password of a URL's ``user:password@`` (a ``proxy_url``) in every form."""
        try:
            parts = urlsplit(url)
            username, password = parts.username, parts.password
        except ValueError:
            return
        if password:
            self.add(password)
            self.add_basic_auth(unquote(username or ""), unquote(password))

    def add_secrets_of(self, value: object) -> None:
        """Remember every ``Secret`` held in ``value`` (a configuration: dataclasses, tuples and
        mappings of them) and the password of every ``proxy_url`` in it."""
        for found in _walk(value):
            if isinstance(found, Secret):
                self.add(found.reveal())
            elif isinstance(found, tuple) and found[0] == "proxy_url":
                self.add_url_password(found[1])

    def clear(self) -> None:
        """Forget every value (the runtime's reset)."""
        with self._lock:
            self._forms = set()
            self._ordered = ()

    def scrub(self, text: str) -> str:
        """``text`` as it may leave the process: no remembered secret, no URL credentials."""
        if "://" in text:
            text = URL_CREDENTIALS.sub(URL_CREDENTIALS_SHOWN, text)
        for form in self._ordered:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def scrub_all(self, value: object) -> object:
        """``value`` (strings, lists, tuples and dicts of them, as in a summary) with every
        string scrubbed; other values unchanged."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {key: self.scrub_all(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_all(item) for item in value]
        return value


def _walk(value: object) -> Iterator[object]:
    """Every ``Secret`` in a configuration value, and ``("proxy_url", url)`` for each proxy URL."""
    if isinstance(value, Secret):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if field.name == "proxy_url" and isinstance(item, str):
                yield ("proxy_url", item)
            else:
                yield from _walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)


class ScrubbingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON log lines, scrubbed after formatting (so every field is covered)."""

    def __init__(self, scrubber: Scrubber, **kwargs: Any) -> None:
        self.scrubber = scrubber
        super().__init__(**kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return self.scrubber.scrub(super().format(record))


class SecretError(Exception):
    """A referenced secret could not be read; the message names the reference, never a value."""


class Secret:
    """A secret string that never appears in ``repr``, ``str``, logs or summaries."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

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


class SecretResolver:
    """Secrets given inline or as SSM SecureString references, resolved when used: read through
    ``parameters`` (decrypted, cached for ``max_age`` seconds across warm invocations, so a
    rotated value is picked up), and every value read is scrubbed from then on."""

    def __init__(self, parameters: ParameterStore, scrubber: Scrubber, max_age: int) -> None:
        self.scrubber = scrubber
        self.max_age = max_age
        self._parameters = parameters

    def resolve(self, inline: Secret | None, parameter: str | None) -> Secret | None:
        """The secret given inline, or read from SSM parameter ``parameter``."""
        if parameter is None:
            return inline
        try:
            value = self._parameters.parameter(parameter, self.max_age)
        except SSMError as exc:
            raise SecretError(f"cannot read SSM parameter {parameter!r}: {exc.code}") from None
        except aws.unanswered_errors() as exc:  # no region or no credentials to read it with
            raise SecretError(f"cannot read SSM parameter {parameter!r}: {type(exc).__name__}") from None
        self.scrubber.add(value)
        return Secret(value)
