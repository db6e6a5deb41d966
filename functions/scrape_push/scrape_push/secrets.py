"""Secrets in the configuration: given inline or as a reference to an SSM SecureString.

A secret value is held in a ``Secret``, whose ``repr``/``str`` never show it, so a config
object can be logged, compared or put in an error message without leaking it. A reference
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

import hmac
import threading

from aws_lambda_powertools.utilities import parameters

from . import aws

MASK = "********"


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
    """Forget the SSM provider and its cache (tests)."""
    global _provider
    with _lock:
        _provider = None
