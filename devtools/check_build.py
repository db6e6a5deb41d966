"""Check a ``sam build`` output tree: the right files, and only aarch64 / CPython 3.13 binaries.

python -m devtools.check_build .aws-sam/build
"""

from __future__ import annotations

import sys
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
EM_AARCH64 = 183
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
"""Lambda quotas: function code plus layers, unzipped, at most 250 MB."""

REQUIRED_PACKAGES = ("boto3", "botocore", "aws_lambda_powertools", "requests", "yaml")


def elf_machine(path: Path) -> int | None:
    """The ELF ``e_machine`` of a shared object, or ``None`` when the file is not ELF."""
    with path.open("rb") as fh:
        head = fh.read(20)
    if not head.startswith(ELF_MAGIC):
        return None
    return int.from_bytes(head[18:20], "little")


def problems(build: Path) -> list[str]:
    """Everything wrong with the built tree (empty when it is fine)."""
    found: list[str] = []
    function = build / "ScrapePushFunction"
    layer = build / "DependenciesLayer" / "python"
    if not (function / "app.py").is_file():
        found.append(f"{function}/app.py missing")
    if not (function / "scrape_push" / "invoke.py").is_file():
        found.append(f"{function}/scrape_push package missing")
    found += [f"{p} should not be shipped" for p in function.rglob("__pycache__")]
    found += [f"{layer}/{name} missing" for name in REQUIRED_PACKAGES if not (layer / name).is_dir()]
    for so in layer.rglob("*.so*"):
        machine = elf_machine(so)
        if machine is not None and machine != EM_AARCH64:
            found.append(f"{so.relative_to(build)} is not an aarch64 binary (e_machine {machine})")
        if ".cpython-" in so.name and ".cpython-313-" not in so.name:
            found.append(f"{so.relative_to(build)} is not built for CPython 3.13")
    for wheel in layer.glob("*.dist-info/WHEEL"):
        tags = [
            line.split(":", 1)[1].strip()
            for line in wheel.read_text().splitlines()
            if line.startswith("Tag:")
        ]
        if tags and not any(t.endswith("-any") or "aarch64" in t for t in tags):
            found.append(f"{wheel.parent.name} has wheel tags {tags}, not aarch64")
    size = sum(p.stat().st_size for p in build.rglob("*") if p.is_file())
    if size > LAMBDA_UNZIPPED_LIMIT_BYTES:
        found.append(f"build is {size} bytes unzipped, over Lambda's 250 MB")
    return found


def main() -> int:
    build = Path(sys.argv[1] if len(sys.argv) > 1 else ".aws-sam/build")
    found = problems(build)
    for problem in found:
        print(f"check_build: {problem}", file=sys.stderr)
    if found:
        return 1
    binaries = sum(1 for so in build.rglob("*.so*") if elf_machine(so) == EM_AARCH64)
    print(f"check_build: {build} is fine ({binaries} aarch64 shared objects, no other binaries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
