"""devtools.arm64's sysroot against a Debian-style repository served on 127.0.0.1 and signed by a
throwaway key: apt, under the configuration devtools.arm64 gives it, unpacks what is signed and
matches its hashes, and refuses a tampered package, an unknown signer and an unsigned index."""

from __future__ import annotations

import email.utils
import functools
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from devtools import arm64
from tests.support.http import address_of, local_server

# Interpreter-independent (apt and gpg do the work): on the main interpreter only.
pytestmark = pytest.mark.once

TOOLS = ("apt-get", "dpkg-deb", "gpg", "gpgv")
FILES = {
    "python3.13-minimal": ("usr/bin/python3.13", "libc6"),
    "libpython3.13-stdlib": ("usr/lib/python3.13/os.py", "libc6"),
    "libstdc++6": ("usr/lib/aarch64-linux-gnu/libstdc++.so.6", "libc6"),
    "libc6": ("usr/lib/ld-linux-aarch64.so.1", ""),
}
"""Each package of the test repository: the one file it holds, and what it depends on."""


def _tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        why = f"no {', '.join(missing)} here (Debian: apt-get install gpg)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


def keyring(home: Path) -> Path:
    """A new signing key in ``home`` (a GnuPG home), and the keyring of its public half."""
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--quiet", "--passphrase", ""]
    subprocess.run([*gpg, "--quick-gen-key", "test <test@invalid>", "ed25519", "sign", "never"], check=True)
    exported = subprocess.run([*gpg, "--export"], check=True, capture_output=True).stdout
    (home / "keyring.gpg").write_bytes(exported)
    return home / "keyring.gpg"


@dataclass
class Repository:
    root: Path
    signer: Path
    """The GnuPG home of the key that signs InRelease."""

    def package(self, name: str, content: str) -> Path:
        path, depends = FILES[name]
        tree = self.root / "build" / name
        (tree / "DEBIAN").mkdir(parents=True, exist_ok=True)
        control = f"Package: {name}\nVersion: 1.0\nArchitecture: arm64\nMaintainer: t <t@invalid>\n"
        control += (f"Depends: {depends}\n" if depends else "") + "Description: test\n"
        (tree / "DEBIAN" / "control").write_text(control)
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(content)
        deb = self.root / "pool" / f"{name}_1.0_arm64.deb"
        deb.parent.mkdir(exist_ok=True)
        build = ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(tree), str(deb)]
        subprocess.run(build, check=True, capture_output=True)
        return deb

    def publish(self, sign: bool = True) -> None:
        """The Packages index of the pool, and Release, signed into InRelease."""
        stanzas = []
        for deb in sorted((self.root / "pool").glob("*.deb")):
            fields = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True)
            data = deb.read_bytes()
            sums = (
                f"Filename: pool/{deb.name}\nSize: {len(data)}\nSHA256: {hashlib.sha256(data).hexdigest()}\n"
            )
            stanzas.append(fields.stdout + sums)
        index = self.root / "dists" / arm64.SUITE / "main" / "binary-arm64" / "Packages"
        index.parent.mkdir(parents=True, exist_ok=True)
        index.write_text("\n".join(stanzas))
        packages = index.read_bytes()
        release = self.root / "dists" / arm64.SUITE / "Release"
        release.write_text(
            f"Suite: {arm64.SUITE}\nCodename: {arm64.SUITE}\nArchitectures: arm64\nComponents: main\n"
            f"Date: {email.utils.formatdate(usegmt=True)}\nSHA256:\n"
            f" {hashlib.sha256(packages).hexdigest()} {len(packages)} main/binary-arm64/Packages\n"
        )
        signed = release.with_name("InRelease")
        signed.unlink(missing_ok=True)
        if sign:
            gpg = ["gpg", "--homedir", str(self.signer), "--batch", "--quiet", "--yes"]
            subprocess.run([*gpg, "--clearsign", "-o", str(signed), str(release)], check=True)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Repository, str, Path]]:
    """A repository of the three packages, its URL and the keyring of its signer."""
    _tools()
    trusted = keyring(tmp_path / "signer")
    repository = Repository(tmp_path / "repo", tmp_path / "signer")
    for name in FILES:
        repository.package(name, f"{name}\n")
    repository.publish()
    handler = functools.partial(_Quiet, directory=str(repository.root))
    with local_server(handler) as server:  # type: ignore[arg-type]
        yield repository, f"http://{address_of(server)}", trusted


def test_what_is_signed_and_matches_its_hashes_is_unpacked(
    served: tuple[Repository, str, Path], tmp_path: Path
) -> None:
    _, url, trusted = served
    root = arm64.sysroot(tmp_path / "sysroot", mirror=url, keyring=trusted)
    assert (root / "usr/bin/python3.13").read_text() == "python3.13-minimal\n"
    assert (root / "lib/ld-linux-aarch64.so.1").read_text() == "libc6\n"  # through lib -> usr/lib
    assert (root / ".packages").read_text().splitlines() == sorted(f"{n}_1.0_arm64.deb" for n in FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "signer", "sysroot"]  # no scratch left


def test_a_package_that_does_not_match_the_index_is_refused(
    served: tuple[Repository, str, Path], tmp_path: Path
) -> None:
    repository, url, trusted = served
    deb = repository.root / "pool" / "libc6_1.0_arm64.deb"
    data = bytearray(deb.read_bytes())
    data[-1] ^= 1  # after the index was signed; the same size
    deb.write_bytes(data)
    with pytest.raises(arm64.Failed, match="Hash Sum mismatch"):
        arm64.sysroot(tmp_path / "sysroot", mirror=url, keyring=trusted)
    assert not (tmp_path / "sysroot").exists()


def test_an_index_signed_by_another_key_or_unsigned_is_refused(
    served: tuple[Repository, str, Path], tmp_path: Path
) -> None:
    repository, url, _ = served
    other = keyring(tmp_path / "other")
    with pytest.raises(arm64.Failed, match="NO_PUBKEY"):
        arm64.sysroot(tmp_path / "sysroot", mirror=url, keyring=other)
    repository.publish(sign=False)
    with pytest.raises(arm64.Failed, match="apt-get update"):
        arm64.sysroot(tmp_path / "sysroot", mirror=url, keyring=other)
    assert not (tmp_path / "sysroot").exists()


def test_a_sysroot_is_made_again_when_its_packages_change(
    served: tuple[Repository, str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url, trusted = served
    monkeypatch.setattr(arm64, "PACKAGES", ("python3.13-minimal", "libpython3.13-stdlib"))
    root = arm64.sysroot(tmp_path / "sysroot", mirror=url, keyring=trusted)
    assert not (root / "usr/lib/aarch64-linux-gnu/libstdc++.so.6").exists()
    monkeypatch.undo()
    root = arm64.sysroot(tmp_path / "sysroot", mirror=url, keyring=trusted)
    assert (root / "usr/lib/aarch64-linux-gnu/libstdc++.so.6").read_text() == "libstdc++6\n"
