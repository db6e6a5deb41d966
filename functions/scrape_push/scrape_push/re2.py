"""Prometheus's regular expressions (RE2 syntax, as Go's ``regexp`` reads it) on Python's ``re``.

Prometheus compiles relabeling regexes with Go's RE2-syntax engine. Python's ``re`` accepts
much of the same text but differs in places a user can hit: some RE2 syntax is missing
(``\\z``, ``\\Q...\\E``, ``[[:alpha:]]``, ``\\x{...}``, ``(?U)``, group names starting with a
digit), some means something else (``$`` before a final newline, ``\\d``/``\\w``/``\\s``/``\\b``
are Unicode-aware, ``x{,3}``, ``\\12``), and some Python-only syntax has no RE2 meaning
(backreferences, lookaround, atomic groups, conditionals). ``translate`` walks the RE2
pattern once, rejects what RE2 would reject (with a message saying why) and emits an
equivalent Python pattern. Named groups become plain numbered groups; their names are
returned separately so that ``$name`` expansion follows Go's rules, not Python's.

Not replicated: Unicode classes (``\\pL``, ``\\p{Greek}``) are rejected because ``re`` has
no equivalent. The remaining differences are listed in docs/relabeling.md.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

MAX_REPEAT = 1000
"""RE2 (Go regexp/syntax): a counted repetition, and the product of nested ones, is at most 1000."""

MAX_RUNE = 0x10FFFF

_FOLD, _MULTILINE, _DOTALL, _UNGREEDY = 1, 2, 4, 8
_FLAG_BITS = {"i": _FOLD, "m": _MULTILINE, "s": _DOTALL, "U": _UNGREEDY}
_PYTHON_FLAGS = (("i", _FOLD), ("m", _MULTILINE), ("s", _DOTALL))

Ranges = tuple[tuple[int, int], ...]

_DIGIT: Ranges = ((0x30, 0x39),)
_SPACE: Ranges = ((0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20))
_WORD: Ranges = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
_PERL: dict[str, Ranges] = {"d": _DIGIT, "s": _SPACE, "w": _WORD}
_POSIX: dict[str, Ranges] = {
    "alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "ascii": ((0x00, 0x7F),),
    "blank": ((0x09, 0x09), (0x20, 0x20)),
    "cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "digit": _DIGIT,
    "graph": ((0x21, 0x7E),),
    "lower": ((0x61, 0x7A),),
    "print": ((0x20, 0x7E),),
    "punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "space": ((0x09, 0x0D), (0x20, 0x20)),
    "upper": ((0x41, 0x5A),),
    "word": _WORD,
    "xdigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
}
_SIMPLE_ESCAPES = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_WORD_CLASS = "[0-9A-Za-z_]"
# RE2's \b and \B look at ASCII word characters only, whatever the i flag says.
_WORD_BOUNDARY = f"(?-i:(?<={_WORD_CLASS})(?!{_WORD_CLASS})|(?<!{_WORD_CLASS})(?={_WORD_CLASS}))"
_NOT_WORD_BOUNDARY = f"(?-i:(?<={_WORD_CLASS})(?={_WORD_CLASS})|(?<!{_WORD_CLASS})(?!{_WORD_CLASS}))"
_CAPTURE_NAME = re.compile(r"[A-Za-z0-9_]+", re.ASCII)
_REPEAT = re.compile(r"\{(0|[1-9][0-9]*)(?:(,)(0|[1-9][0-9]*)?)?\}")
_UNSUPPORTED_GROUPS = (
    ("(?=", "lookahead (?=...) is not supported by RE2"),
    ("(?!", "negative lookahead (?!...) is not supported by RE2"),
    ("(?<=", "lookbehind (?<=...) is not supported by RE2"),
    ("(?<!", "negative lookbehind (?<!...) is not supported by RE2"),
    ("(?>", "atomic groups (?>...) are not supported by RE2"),
    ("(?(", "conditionals (?(...)...) are not supported by RE2"),
    ("(?#", "comments (?#...) are not supported by RE2"),
    ("(?P=", "backreferences (?P=name) are not supported by RE2"),
    ("(?P>", "recursion (?P>name) is not supported by RE2"),
)


class RE2SyntaxError(ValueError):
    """The pattern is not valid RE2 syntax, or uses RE2 syntax Python's ``re`` cannot express."""


@dataclass(frozen=True)
class Translated:
    """A Python pattern equivalent to an RE2 pattern, and the RE2 names of its groups."""

    pattern: str
    group_names: tuple[str | None, ...]
    """Index ``n`` is the RE2 name of group ``n`` (``None`` when unnamed; index 0 is the match)."""


@functools.lru_cache(maxsize=512)
def translate(pattern: str) -> Translated:
    """Translate RE2 ``pattern`` into an equivalent Python pattern, or raise ``RE2SyntaxError``.

    ``(?P<port>\\d+)\\z`` becomes ``([0-9]+)(?:\\Z)`` with group names ``(None, "port")``.
    """
    return _Translator(pattern).run()


@functools.lru_cache(maxsize=512)
def compile_anchored(pattern: str) -> tuple[re.Pattern[str], tuple[str | None, ...]]:
    """Compile an RE2 pattern for use with ``fullmatch`` (Prometheus anchors every regex)."""
    translated = translate(pattern)
    try:
        compiled = re.compile(translated.pattern)
    except re.error as exc:  # a translation gap: report it rather than crash
        raise RE2SyntaxError(f"cannot be compiled: {exc}") from None
    return compiled, translated.group_names


def _char(code: int) -> str:
    """One character, written so that it means itself inside or outside a Python class."""
    c = chr(code)
    if c.isascii() and (c.isalnum() or c == "_"):
        return c
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if c.isascii():
        return "\\" + c
    return c


def _class_body(ranges: Ranges) -> str:
    return "".join(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}" for lo, hi in ranges)


def _negate(ranges: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    next_lo = 0
    for lo, hi in sorted(ranges):
        if lo > next_lo:
            out.append((next_lo, lo - 1))
        next_lo = max(next_lo, hi + 1)
    if next_lo <= MAX_RUNE:
        out.append((next_lo, MAX_RUNE))
    return tuple(out)


def _python_flags(flags: int) -> str:
    on = "".join(letter for letter, bit in _PYTHON_FLAGS if flags & bit)
    off = "".join(letter for letter, bit in _PYTHON_FLAGS if not flags & bit)
    return f"(?{on}-{off}:" if off else f"(?{on}:"


@dataclass
class _Frame:
    """An open group: the flags to restore when it closes, scoped-flag groups opened in it."""

    saved_flags: int
    inner_flags: int
    scoped: int = 0
    cost: int = 1


class _Translator:
    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.pos = 0
        self.out: list[str] = []
        self.flags = 0
        self.frames = [_Frame(0, 0)]
        self.names: list[str | None] = [None]
        self.last: str | None = None  # "atom" (repeatable), "repeat", or None
        self.last_cost = 1

    def fail(self, message: str) -> RE2SyntaxError:
        return RE2SyntaxError(message)

    def run(self) -> Translated:
        structure = {
            "(": self.open_group,
            ")": self.close_group,
            "|": self.alternate,
            "{": self.brace,
            "\\": self.escape,
        }
        while self.pos < len(self.src):
            c = self.src[self.pos]
            handler = structure.get(c)
            if handler is not None:
                handler()
            elif c == "[":
                self.atom(self.char_class())
            else:
                self.pos += 1
                self.single(c)
        if len(self.frames) > 1:
            raise self.fail("missing closing )")
        self.out.append(")" * self.frames[0].scoped)
        return Translated("".join(self.out), tuple(self.names))

    def single(self, c: str) -> None:
        """A one-character token: a repetition, an anchor, ``.`` or a literal."""
        if c in "*+?":
            self.repeat(c, 1 if c == "+" else 0, 1 if c == "?" else -1, counted=False)
        elif c == "^":
            self.atom("(?:^)")
        elif c == "$":
            self.atom("(?:$)" if self.flags & _MULTILINE else "(?:\\Z)")
        else:
            self.atom("." if c == "." else _char(ord(c)))

    def atom(self, text: str, cost: int = 1) -> None:
        self.out.append(text)
        self.last = "atom"
        self.last_cost = cost
        frame = self.frames[-1]
        frame.cost = max(frame.cost, cost)

    # Groups and flags.

    def open_group(self) -> None:
        src, start = self.src, self.pos
        if not src.startswith("(?", start):
            self.pos += 1
            self.push_group("(", None)
            return
        for prefix, message in _UNSUPPORTED_GROUPS:
            if src.startswith(prefix, start):
                raise self.fail(message)
        if src.startswith("(?P<", start) or src.startswith("(?<", start):
            name_start = start + (4 if src[start + 2] == "P" else 3)
            end = src.find(">", name_start)
            if end < 0 or not _CAPTURE_NAME.fullmatch(src, name_start, end):
                shown = src[start : end + 1] if end >= 0 else src[start:]
                raise self.fail(f"invalid named capture `{shown}` (names are letters, digits and _)")
            self.pos = end + 1
            self.push_group("(", src[name_start:end])
            return
        self.flag_group()

    def flag_group(self) -> None:
        src, start = self.src, self.pos
        i = start + 2
        flags, negate, saw = self.flags, False, False
        while i < len(src):
            c = src[i]
            i += 1
            if c in _FLAG_BITS:
                flags = flags & ~_FLAG_BITS[c] if negate else flags | _FLAG_BITS[c]
                saw = True
            elif c == "-" and not negate:
                negate, saw = True, False
            elif c in ":)" and (saw or not negate):
                self.pos = i
                if c == ":":
                    self.push_group("(?:", None, flags)
                else:
                    self.set_flags(flags)
                return
            elif c.isalpha():
                raise self.fail(
                    f"unsupported flag `{c}` in `{src[start:i]}`: RE2 knows only the flags i, m, s and U"
                )
            else:
                break
        raise self.fail(f"invalid or unsupported Perl syntax `{src[start:i]}`")

    def push_group(self, opener: str, name: str | None, flags: int | None = None) -> None:
        """Open a group; capturing unless ``opener`` is ``(?:``; ``flags`` apply inside it."""
        inner = self.flags if flags is None else flags
        self.frames.append(_Frame(self.flags, inner))
        if opener == "(":
            self.names.append(name)
        elif inner & ~_UNGREEDY != self.flags & ~_UNGREEDY:
            opener = _python_flags(inner)
        self.out.append(opener)
        self.flags = inner
        self.last = None

    def set_flags(self, flags: int) -> None:
        """``(?flags)``: change the flags for the rest of the current group, across ``|``."""
        if flags & ~_UNGREEDY != self.flags & ~_UNGREEDY:
            self.out.append(_python_flags(flags))
            self.frames[-1].scoped += 1
        self.flags = flags
        self.last = None

    def close_group(self) -> None:
        if len(self.frames) == 1:
            raise self.fail("unexpected ): no group is open")
        self.pos += 1
        frame = self.frames.pop()
        self.out.append(")" * (frame.scoped + 1))
        self.flags = frame.saved_flags
        self.atom("", frame.cost)

    def alternate(self) -> None:
        self.pos += 1
        frame = self.frames[-1]
        self.out.append(")" * frame.scoped + "|")
        frame.scoped = 0
        if self.flags & ~_UNGREEDY != frame.inner_flags & ~_UNGREEDY:
            self.out.append(_python_flags(self.flags))
            frame.scoped = 1
        self.last = None

    # Repetition.

    def brace(self) -> None:
        match = _REPEAT.match(self.src, self.pos)
        if match is None:  # RE2 reads a { that does not start a repetition as a literal
            self.pos += 1
            self.atom("\\{")
            return
        low = int(match.group(1))
        high = low if match.group(2) is None else int(match.group(3)) if match.group(3) else -1
        if low > MAX_REPEAT or high > MAX_REPEAT or 0 <= high < low:
            raise self.fail(f"invalid repeat count `{match.group(0)}` (RE2 allows at most {MAX_REPEAT})")
        self.pos = match.end()
        self.repeat(match.group(0), low, high, counted=True)

    def repeat(self, op: str, low: int, high: int, counted: bool) -> None:
        base = op
        lazy = self.pos < len(self.src) and self.src[self.pos] == "?"
        if lazy:
            self.pos += 1
            op += "?"
        if self.last == "repeat":
            raise self.fail(
                f"invalid nested repetition operator `{op}` (possessive and doubled repetitions are not RE2)"
            )
        if self.last is None:
            raise self.fail(f"missing argument to repetition operator `{op}`")
        if counted:
            cost = 1 if high == 0 else self.last_cost * max(high if high > 0 else low, 1)
            if cost > MAX_REPEAT:
                raise self.fail(f"invalid repeat count `{op}`: nested repetitions exceed {MAX_REPEAT}")
            frame = self.frames[-1]
            frame.cost = max(frame.cost, cost)
            self.last_cost = cost
        if counted:
            base = f"{{{low}}}" if high == low else f"{{{low},}}" if high < 0 else f"{{{low},{high}}}"
        self.out.append(base + ("?" if lazy != bool(self.flags & _UNGREEDY) else ""))
        self.last = "repeat"

    # Escapes and classes.

    def escape(self) -> None:
        src, start = self.src, self.pos
        if start + 1 >= len(src):
            raise self.fail("trailing backslash at end of expression")
        c = src[start + 1]
        simple = {"A": "\\A", "z": "(?:\\Z)", "b": _WORD_BOUNDARY, "B": _NOT_WORD_BOUNDARY}
        if c in simple:
            self.pos += 2
            self.atom(simple[c])
        elif c == "Q":
            end = src.find("\\E", start + 2)
            literal = src[start + 2 :] if end < 0 else src[start + 2 : end]
            self.pos = len(src) if end < 0 else end + 2
            for ch in literal:
                self.atom(_char(ord(ch)))
        elif c in "dDsSwW":
            self.pos += 2
            body = _class_body(_PERL[c.lower()])
            self.atom(f"[^{body}]" if c.isupper() else f"[{body}]")
        else:
            self.atom(_char(self.escaped_char()))

    def escaped_char(self) -> int:
        """An escape standing for one character (``\\n``, ``\\x41``, ``\\101``, ``\\.``)."""
        src, start = self.src, self.pos
        if start + 1 >= len(src):
            raise self.fail("trailing backslash at end of expression")
        c = src[start + 1]
        self.pos = start + 2
        if c.isascii() and not c.isalnum():
            return ord(c)
        if c in _SIMPLE_ESCAPES:
            return ord(_SIMPLE_ESCAPES[c])
        if c in "01234567":
            digits = c
            while len(digits) < 3 and self.pos < len(src) and src[self.pos] in "01234567":
                digits += src[self.pos]
                self.pos += 1
            if digits != c or c == "0":
                return int(digits, 8)
        if c == "x":
            return self.hex_escape()
        shown = re.match(r"\\[pP](\{[^}]*\}|.)?", src[start:]) if c in "pP" else None
        raise self.fail(self.escape_problem(shown.group(0) if shown else src[start : start + 2]))

    def hex_escape(self) -> int:
        src, start = self.src, self.pos - 2
        braced = re.compile(r"\{([0-9A-Fa-f]+)\}").match(src, self.pos)
        if braced and int(braced.group(1), 16) <= MAX_RUNE:
            self.pos = braced.end()
            return int(braced.group(1), 16)
        two = src[self.pos : self.pos + 2]
        if not braced and re.fullmatch(r"[0-9A-Fa-f]{2}", two):
            self.pos += 2
            return int(two, 16)
        end = src.find("}", self.pos) + 1 if src.startswith("{", self.pos) else 0
        raise self.fail(f"invalid escape sequence `{src[start : max(end, self.pos + 2)]}`")

    @staticmethod
    def escape_problem(escape: str) -> str:
        c = escape[1]
        if c in "123456789":
            return f"backreferences ({escape}) are not supported by RE2"
        if c in "pP":
            return (
                f"Unicode character classes ({escape}) are RE2 syntax that Python's re does not "
                "support; use an explicit range such as [\\x{0370}-\\x{03FF}]"
            )
        if c == "Z":
            return "\\Z is not RE2 syntax; use \\z for the end of the text"
        if c == "C":
            return "\\C (any byte) is not supported"
        if c in "kg":
            return f"backreferences ({escape}) are not supported by RE2"
        return f"invalid escape sequence `{escape}`"

    def char_class(self) -> str:
        src = self.src
        whole_start = self.pos
        self.pos += 1
        negated = src.startswith("^", self.pos)
        if negated:
            self.pos += 1
        parts: list[str] = []
        first = True
        while True:
            if self.pos >= len(src):
                raise self.fail(f"missing closing ]: `{src[whole_start:]}`")
            c = src[self.pos]
            if c == "]" and not first:
                self.pos += 1
                break
            first = False
            if src.startswith("[:", self.pos):
                named = self.posix_class()
                if named is not None:
                    parts.append(named)
                    continue
            if c == "\\" and self.pos + 1 < len(src):
                e = src[self.pos + 1]
                if e in "dDsSwW":
                    ranges = _PERL[e.lower()]
                    parts.append(_class_body(_negate(ranges) if e.isupper() else ranges))
                    self.pos += 2
                    continue
            item_start = self.pos
            low = self.class_char()
            high = low
            if src.startswith("-", self.pos) and self.pos + 1 < len(src) and src[self.pos + 1] != "]":
                self.pos += 1
                high = self.class_char()
                if high < low:
                    raise self.fail(f"invalid character class range `{src[item_start : self.pos]}`")
            parts.append(_char(low) if low == high else f"{_char(low)}-{_char(high)}")
        return "[" + ("^" if negated else "") + "".join(parts) + "]"

    def posix_class(self) -> str | None:
        src = self.src
        end = src.find(":]", self.pos + 2)
        if end < 0:
            return None
        name = src[self.pos + 2 : end]
        negated = name.startswith("^")
        ranges = _POSIX.get(name[1:] if negated else name)
        if ranges is None:
            raise self.fail(f"invalid character class range `{src[self.pos : end + 2]}`")
        self.pos = end + 2
        return _class_body(_negate(ranges) if negated else ranges)

    def class_char(self) -> int:
        src = self.src
        if self.pos >= len(src):
            raise self.fail("missing closing ]")
        if src[self.pos] != "\\":
            self.pos += 1
            return ord(src[self.pos - 1])
        return self.escaped_char()
