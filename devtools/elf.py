"""What the build checks read from an ELF file: its class, type and machine, whether it is
stripped, and the symbol versions it needs from each library.

The layouts are the System V ABI's (the ELF header, section headers) and the GNU symbol
versioning extension's (``SHT_GNU_verneed``: ``Elf64_Verneed`` and ``Elf64_Vernaux`` records,
the Linux Standard Base's "Symbol Versioning"). Only 64-bit little-endian files are read past
their header: Lambda's arm64 and x86_64 are both. A malformed file raises ``ValueError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
ET_DYN = 3
"""A shared object (what an extension module is)."""
EM_AARCH64 = 183
EM_X86_64 = 62
SHT_SYMTAB = 2
SHT_GNU_VERNEED = 0x6FFFFFFE

_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION = struct.Struct("<IIQQQQIIQQ")
_VERNEED = struct.Struct("<HHIII")
_VERNAUX = struct.Struct("<IHHII")


@dataclass(frozen=True)
class Section:
    name: str
    type: int
    offset: int
    size: int
    link: int
    info: int


@dataclass(frozen=True)
class Elf:
    """One ELF file, read whole (the files checked are small)."""

    data: bytes
    elf_type: int
    machine: int
    sections: tuple[Section, ...]

    @property
    def stripped(self) -> bool:
        """No symbol table and no debug information (``-s``)."""
        return not any(s.type == SHT_SYMTAB or s.name.startswith(".debug") for s in self.sections)

    def version_needs(self) -> dict[str, list[str]]:
        """Each library the file needs symbol versions of, and those versions (``GLIBC_2.17``)."""
        needs: dict[str, list[str]] = {}
        for section in self.sections:
            if section.type != SHT_GNU_VERNEED:
                continue
            strings = self._section(section.link)
            at = section.offset
            # sh_info records, each with vn_cnt versions, chained by offsets (0 ends a chain):
            # every step moves forward, so a malformed count cannot make the walk longer than the file.
            for _ in range(section.info):
                _, count, file, aux, following = self._unpack(_VERNEED, at)
                names = needs.setdefault(_string(strings, file), [])
                entry = at + aux
                for _ in range(count):
                    _, _, _, name, next_aux = self._unpack(_VERNAUX, entry)
                    names.append(_string(strings, name))
                    if not next_aux:
                        break
                    entry += next_aux
                if not following:
                    break
                at += following
        return needs

    def _section(self, index: int) -> bytes:
        if not 0 <= index < len(self.sections):
            raise ValueError(f"section {index} does not exist")
        section = self.sections[index]
        return _slice(self.data, section.offset, section.size)

    def _unpack(self, layout: struct.Struct, at: int) -> tuple[int, ...]:
        return layout.unpack(_slice(self.data, at, layout.size))


def _slice(data: bytes, at: int, size: int) -> bytes:
    if at < 0 or at + size > len(data):
        raise ValueError(f"{size} bytes at {at} are past the end of the file")
    return data[at : at + size]


def _string(table: bytes, at: int) -> str:
    end = table.find(b"\0", at)
    if at >= len(table) or end < 0:
        raise ValueError(f"string {at} is outside its table")
    return table[at:end].decode("ascii", "replace")


def machine(path: Path) -> int | None:
    """The ``e_machine`` of any ELF file (32 or 64-bit, either byte order), ``None`` when not ELF."""
    with path.open("rb") as fh:
        head = fh.read(20)
    if len(head) < 20 or not head.startswith(MAGIC):
        return None
    return int.from_bytes(head[18:20], "big" if head[5] == 2 else "little")


def read(path: Path) -> Elf:
    """``path`` as a 64-bit little-endian ELF file."""
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise ValueError("not an ELF file")
    if data[4] != ELFCLASS64 or data[5] != ELFDATA2LSB:
        raise ValueError(f"not a 64-bit little-endian ELF file (class {data[4]}, data {data[5]})")
    fields = _HEADER.unpack(_slice(data, 0, _HEADER.size))
    elf_type, elf_machine, shoff = fields[1], fields[2], fields[6]
    shentsize, shnum, shstrndx = fields[11:14]
    if shnum and shentsize != _SECTION.size:
        raise ValueError(f"section headers of {shentsize} bytes, not {_SECTION.size}")
    raw = [_SECTION.unpack(_slice(data, shoff + i * _SECTION.size, _SECTION.size)) for i in range(shnum)]
    names = b""
    if 0 < shstrndx < len(raw):
        names = _slice(data, raw[shstrndx][4], raw[shstrndx][5])
    sections = tuple(
        Section(_string(names, r[0]) if names else "", r[1], r[4], r[5], r[6], r[7]) for r in raw
    )
    return Elf(data, elf_type, elf_machine, sections)
