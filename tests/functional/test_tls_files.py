"""Inline TLS material, a client key included, never stays on disk (issue 19)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import trustme

from tests.functional.conftest import Emulated
from tests.functional.test_scrape_configs import _https, _indented, config, mtls_job


def left_behind() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("scrape-push-*")}


@pytest.mark.parametrize("memfd", [True, False], ids=["memfd", "private-directory"])
def test_inline_ca_cert_and_key_leave_no_file(
    emulated: Emulated, monkeypatch: pytest.MonkeyPatch, memfd: bool
) -> None:
    if not memfd:  # as on a system without memfd_create (macOS)
        monkeypatch.delattr(os, "memfd_create", raising=False)
    server_ca, client_ca = trustme.CA(), trustme.CA()
    client = client_ca.issue_cert("scrape-push")
    key_pem = client.private_key_pem.bytes().decode()
    cert_pem = "".join(blob.bytes().decode() for blob in client.cert_chain_pems)
    before = left_behind()
    with _https(server_ca, client_ca) as address:
        emulated.put_config(
            config(mtls_job("mtls", address, server_ca, cert_pem, f"      key: |\n{_indented(key_pem)}\n"))
        )
        first = emulated.invoke()["targets"][0]
        second = emulated.invoke()["targets"][0]  # warm: the SSLContext is reused
    assert (first["up"], second["up"]) == (1, 1), first
    assert left_behind() - before == set()


def test_unusable_inline_material_is_one_clear_line(emulated: Emulated) -> None:
    emulated.put_config(
        config(
            "  - job_name: bad_ca\n    scheme: https\n    static_configs: [{targets: ['127.0.0.1:1']}]\n"
            "    tls_config: {ca: 'not a certificate'}\n"
        )
    )
    (result,) = emulated.invoke()["targets"]
    assert result["up"] == 0 and result["error"].startswith("tls_config ca: not usable (")
