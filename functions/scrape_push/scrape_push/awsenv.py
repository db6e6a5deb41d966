"""What the environment says about AWS, read as botocore reads it, for calls made without it.

The Lambda runtime sets the function's credentials (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``) and region (``AWS_REGION``,
``AWS_DEFAULT_REGION``) in its environment: with them, an SSM read needs neither boto3 nor a
botocore client. Whatever the environment does not settle (no keys: a profile, SSO, a container's
credentials; no region; a FIPS, dual-stack or unlisted partition's endpoint) is left to botocore
(``aws.AwsClients``), which is imported only then.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from .signing import Keys

_TRUE = "true"
_OTHER_ENDPOINTS = ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT")
_STANDARD_REGION = re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d+$")
_GOVCLOUD_REGION = re.compile(r"^us-gov-[a-z]+-\d+$")
"""Regions of partitions ``aws`` and ``aws-us-gov``: DNS suffix ``amazonaws.com`` (botocore's
``partitions.json``)."""
_CHINA_REGION = re.compile(r"^cn-[a-z]+-\d+$")
"""Regions of partition ``aws-cn``: DNS suffix ``amazonaws.com.cn``."""


def environment_keys(environ: Mapping[str, str] | None = None) -> Keys | None:
    """The credentials of the environment (botocore's ``EnvProvider``: both keys, and the
    session token of temporary ones), ``None`` without both keys."""
    env = os.environ if environ is None else environ
    access_key, secret_key = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if not access_key or not secret_key:
        return None
    return Keys(access_key, secret_key, env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or None)


def environment_region(environ: Mapping[str, str] | None = None) -> str | None:
    """The region of the environment: ``AWS_DEFAULT_REGION`` (botocore's, so that this agrees
    with every boto3 client of the process), else ``AWS_REGION`` (what Lambda sets as well)."""
    env = os.environ if environ is None else environ
    return env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or None


def configured_endpoint(service_id: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The endpoint the environment sets for a service, as botocore finds it (Boto3 guide,
    "Service-specific endpoints"): ``AWS_ENDPOINT_URL_<SERVICE ID>`` (upper case, spaces as
    ``_``), else ``AWS_ENDPOINT_URL``; neither when ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is
    true."""
    env = os.environ if environ is None else environ
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == _TRUE:
        return None
    variable = "AWS_ENDPOINT_URL_" + service_id.upper().replace(" ", "_").replace("-", "_")
    return env.get(variable) or env.get("AWS_ENDPOINT_URL") or None


def ca_bundle(environ: Mapping[str, str] | None = None) -> str | bool:
    """The certificates to verify AWS endpoints with: ``AWS_CA_BUNDLE`` (botocore's setting), else
    the default bundle (``True``: certifi's, as botocore's)."""
    env = os.environ if environ is None else environ
    return env.get("AWS_CA_BUNDLE") or True


def regional_endpoint(prefix: str, region: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The documented regional endpoint of a service (AWS General Reference, "Service
    endpoints": ``https://<prefix>.<region>.amazonaws.com``, ``.com.cn`` in China); ``None``
    where botocore must decide: FIPS or dual-stack endpoints asked for (``AWS_USE_FIPS_ENDPOINT``,
    ``AWS_USE_DUALSTACK_ENDPOINT``), or a region of another partition."""
    env = os.environ if environ is None else environ
    if any(env.get(name, "").lower() == _TRUE for name in _OTHER_ENDPOINTS):
        return None
    if _STANDARD_REGION.match(region) or _GOVCLOUD_REGION.match(region):
        return f"https://{prefix}.{region}.amazonaws.com"
    if _CHINA_REGION.match(region):
        return f"https://{prefix}.{region}.amazonaws.com.cn"
    return None
