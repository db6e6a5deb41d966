"""An arm64 CPython 3.13 under qemu-aarch64, to run the sam-built function as Lambda's arm64 runtime
would (``make test-arm64``; docs/native.md).

    python -m devtools.arm64 test [--mirror URL] [--keyring FILE] [PYTEST_ARGS...]

prepares it (into ``~/.cache/scrape-push/arm64``), then runs tests/arm64 with it at hand.

The interpreter is Debian trixie's (``python3.13-minimal``, ``libpython3.13-stdlib`` and the
packages they depend on), fetched by apt itself under a configuration of its own in the cache:
apt checks the InRelease file's signature against the Debian archive keyring (gpgv), the
Packages index against the SHA256 that Release gives, and each .deb against the index's SHA256,
and refuses anything unsigned or mismatched. Neither the system's apt lists nor dpkg's database
are read or written, and no architecture is added to dpkg. The .debs are unpacked with
``dpkg-deb -x`` into a sysroot that ``qemu-aarch64 -L`` makes the arm64 program's root. pytest
and Hypothesis for that interpreter are aarch64 / CPython 3.13 wheels that pip installs into a
directory of their own, pinned as requirements-dev.txt pins them: nothing of the host's venv.

Where qemu-aarch64 or Debian's tools are missing, ``test`` says so and skips (exit 0), except
under CI (``CI=true``), where the arm64 build must be exercised and that is a failure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = "trixie"
"""Debian 13: its CPython is 3.13, Lambda's runtime (the template's python3.13)."""
MIRROR = "http://deb.debian.org/debian"
"""Plain HTTP as Debian's own sources.list: what arrives is checked against the signed InRelease."""
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
"""debian-archive-keyring; bookworm's (2023.3+deb12u2 and later) holds trixie's keys too."""
PACKAGES = ("python3.13-minimal", "libpython3.13-stdlib", "libstdc++6")
"""What apt installs (into the sysroot only), with every package they depend on. libstdc++6, as
Lambda's runtime has it, is what protobuf's compiled message module (upb) links: without it
protobuf falls back to its pure-Python implementation, which decodes every NaN as the quiet NaN
(the staleness marker's bits lost in the tests' decoding, not in what the function sends), and
slowly."""
INTERPRETER = "usr/bin/python3.13"
TEST_PACKAGES = ("pytest", "hypothesis", "protobuf", "prometheus-client")
"""What the tests run on arm64 import beyond the function and its layer: the runner, the
property tests' engine, and what the differential tests may check requests and parses with."""
WHEEL_PLATFORM = ("--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", "3.13")
TOOLS = ("qemu-aarch64", "apt-get", "dpkg-deb", "gpgv")
STEP_TIMEOUT_SECONDS = 900
"""A download or an unpack that takes longer has stalled: the step fails rather than hang CI."""
COMPILER_ENV = "PYTHON_LAMBDA"
"""A CPython 3.13 of this machine, as the build's Makefiles name it (``prepare``)."""
SYSROOT_ENV = "SCRAPE_PUSH_ARM64_SYSROOT"
WHEELS_ENV = "SCRAPE_PUSH_ARM64_WHEELS"
"""How ``test`` tells tests/arm64 where the interpreter and its wheels are."""


class Unavailable(Exception):
    """This machine lacks what running arm64 code takes."""


class Failed(Exception):
    """A step of the preparation failed: the message names it."""


@dataclass(frozen=True)
class Arm64:
    """A prepared arm64 interpreter: its sysroot and the wheels it imports."""

    sysroot: Path
    wheels: Path

    def command(self, *args: str) -> list[str]:
        """The command line that runs the arm64 ``python3.13 args...``."""
        return ["qemu-aarch64", "-L", str(self.sysroot), str(self.sysroot / INTERPRETER), *args]

    def environment(self, path: Sequence[Path], **extra: str) -> dict[str, str]:
        """This process's environment for the arm64 interpreter, with ``extra``: ``path`` then the
        wheels on its ``sys.path``, and none of the host's Python settings. It writes bytecode
        where it lacks it (the sysroot and the wheels, in the cache: compiled once), and reads
        what a build ships."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [*path, self.wheels])
        env["PYTHONNOUSERSITE"] = "1"
        env.update(extra)
        return env


def cache() -> Path:
    """``$XDG_CACHE_HOME/scrape-push/arm64`` (``~/.cache`` when unset)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "scrape-push" / "arm64"


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def _run(step: str, command: Sequence[str], env: Mapping[str, str] | None = None) -> None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=STEP_TIMEOUT_SECONDS, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise Failed(f"{step}: no end after {STEP_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip()).splitlines()
        said = [line for line in lines if line.startswith(("E:", "W:", "ERROR:"))] or lines[-5:]
        raise Failed(f"{step} failed ({done.returncode}): " + " / ".join(said))


def _apt_config(state: Path, mirror: str, keyring: Path) -> Path:
    """A configuration under which apt works on ``state`` alone, for arm64 packages of SUITE."""
    for directory in ("lists/partial", "archives/partial", "etc/apt.conf.d", "etc/preferences.d"):
        (state / directory).mkdir(parents=True, exist_ok=True)
    (state / "status").write_text("")  # an empty dpkg database: every dependency is fetched
    (state / "etc" / "sources.list").write_text(
        f"deb [arch=arm64 signed-by={keyring}] {mirror} {SUITE} main\n"
    )
    config = state / "apt.conf"
    config.write_text(
        f'Dir "{state}/";\n'
        f'Dir::State "{state}/";\n'
        f'Dir::State::Lists "{state}/lists/";\n'
        f'Dir::State::status "{state}/status";\n'
        f'Dir::Cache "{state}/";\n'
        f'Dir::Cache::Archives "{state}/archives/";\n'
        f'Dir::Etc "{state}/etc/";\n'
        f'Dir::Etc::SourceList "{state}/etc/sources.list";\n'
        f'Dir::Etc::SourceParts "{state}/etc/sources.list.d/";\n'
        f'Dir::Etc::Parts "{state}/etc/apt.conf.d/";\n'
        f'Dir::Etc::PreferencesParts "{state}/etc/preferences.d/";\n'
        f'Dir::Etc::Trusted "/nonexistent";\n'
        f'Dir::Etc::TrustedParts "/nonexistent";\n'
        'APT::Architecture "arm64";\n'
        'APT::Architectures { "arm64"; };\n'
        'APT::Install-Recommends "false";\n'
        'APT::Sandbox::User "root";\n'
        'Acquire::Languages "none";\n'
        'Acquire::AllowInsecureRepositories "false";\n'
        'Acquire::AllowDowngradeToInsecureRepositories "false";\n'
        'Debug::NoLocking "true";\n'
    )
    return config


def sysroot(into: Path, mirror: str = MIRROR, keyring: Path = KEYRING, refresh: bool = False) -> Path:
    """The arm64 sysroot ``into`` (made when absent or ``refresh``), its interpreter runnable."""
    stamp, wanted = into / ".packages", into / ".wanted"
    if stamp.is_file() and wanted.is_file() and wanted.read_text() == _wanted() and not refresh:
        return into
    if not keyring.is_file():
        raise Failed(f"no Debian archive keyring at {keyring} (apt-get install debian-archive-keyring)")
    into.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".sysroot-", dir=into.parent) as scratch:
        state, root = Path(scratch) / "apt", Path(scratch) / "root"
        env = {**os.environ, "APT_CONFIG": str(_apt_config(state, mirror, keyring))}
        _run(
            f"apt-get update (arm64 {SUITE} from {mirror}, signed by {keyring})",
            ["apt-get", "update"],
            env=env,
        )
        fetch = ["apt-get", "install", "--download-only", "--yes", "--quiet", *PACKAGES]
        _run("apt-get install --download-only", fetch, env=env)
        debs = sorted((state / "archives").glob("*.deb"))
        if not debs:
            raise Failed("apt-get fetched no package")
        root.mkdir()
        for deb in debs:
            _run(f"dpkg-deb -x {deb.name}", ["dpkg-deb", "-x", str(deb), str(root)])
        (root / "lib").symlink_to("usr/lib")  # merged /usr: the loader is /lib/ld-linux-aarch64.so.1
        (root / ".packages").write_text("".join(f"{deb.name}\n" for deb in debs))
        (root / ".wanted").write_text(_wanted())
        shutil.rmtree(into, ignore_errors=True)
        root.rename(into)
    return into


def _wanted() -> str:
    """What a sysroot was made of (made again when ``PACKAGES`` changes)."""
    return "".join(f"{name}\n" for name in PACKAGES)


def pins(path: Path = ROOT / "requirements-dev.txt") -> dict[str, str]:
    """Each ``name==version`` line of ``path`` and of the files it includes (``-r``), by name."""
    found: dict[str, str] = {}
    for text in path.read_text().splitlines():
        line = text.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found.update(pins(ROOT / line.removeprefix("-r ").strip()))
        elif "==" in line:
            found[line.split("==", 1)[0].split("[", 1)[0].strip().lower()] = line
    return found


def wheels(into: Path, names: Sequence[str] = TEST_PACKAGES) -> Path:
    """``names`` (as requirements-dev.txt pins them) and what they need, as aarch64 / CPython 3.13
    wheels installed into ``into``, made again when the pins change."""
    pinned = pins()
    absent = [name for name in names if name not in pinned]
    if absent:
        raise Failed(f"requirements-dev.txt pins no {', '.join(absent)}")
    wanted = "".join(f"{pinned[name]}\n" for name in names)
    stamp = into / ".pins"
    if stamp.is_file() and stamp.read_text() == wanted:
        return into
    shutil.rmtree(into, ignore_errors=True)
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    install += ["--target", str(into), *WHEEL_PLATFORM, "--only-binary=:all:", "--no-compile"]
    install += [pinned[name] for name in names]
    _run("pip install (aarch64 / CPython 3.13 wheels)", install)
    stamp.write_text(wanted)
    return into


def prepare(where: Path, mirror: str = MIRROR, keyring: Path = KEYRING, compiler: str = "") -> Arm64:
    """The arm64 interpreter and its wheels under ``where``, made where absent; with a CPython
    3.13 of this machine (``compiler``), their modules' bytecode made by it, which the arm64 one
    reads as its own (bytecode is the same on every machine) instead of compiling each module
    under emulation, twenty times slower, on its first import."""
    missing = missing_tools()
    if missing:
        raise Unavailable(f"no {', '.join(missing)} on this machine (Debian: apt-get install qemu-user)")
    found = Arm64(sysroot(where / "sysroot", mirror, keyring), wheels(where / "wheels-cp313-aarch64"))
    if compiler:
        stdlib = found.sysroot / "usr" / "lib" / "python3.13"
        _run(
            f"{compiler} -m compileall",
            [compiler, "-m", "compileall", "-q", "-j", "0", str(stdlib), str(found.wheels)],
        )
    return found


def test(pytest_args: Sequence[str], mirror: str = MIRROR, keyring: Path = KEYRING) -> int:
    """Prepare, then run tests/arm64 on this interpreter with the arm64 one at hand."""
    ci = os.environ.get("CI") == "true"
    try:
        arm64 = prepare(cache(), mirror, keyring, os.environ.get(COMPILER_ENV, ""))
    except Unavailable as exc:
        if ci:
            print(f"test-arm64: {exc}: under CI the arm64 build must be exercised", file=sys.stderr)
            return 1
        print(f"test-arm64: skipped: {exc}; the arm64 build was not exercised")
        return 0
    except Failed as exc:
        print(f"test-arm64: {exc}", file=sys.stderr)
        return 1
    env = {**os.environ, SYSROOT_ENV: str(arm64.sysroot), WHEELS_ENV: str(arm64.wheels)}
    return subprocess.call([sys.executable, "-m", "pytest", "tests/arm64", *pytest_args], cwd=ROOT, env=env)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("test", help="prepare, then run tests/arm64 (other arguments go to pytest)")
    run.add_argument("--mirror", default=MIRROR, help=f"a Debian mirror ({MIRROR})")
    run.add_argument("--keyring", type=Path, default=KEYRING, help=f"what signs its index ({KEYRING})")
    args, pytest_args = parser.parse_known_args(argv)
    return test(pytest_args, args.mirror, args.keyring)


if __name__ == "__main__":
    sys.exit(main())
