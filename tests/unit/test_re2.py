"""RE2 patterns on Python's re: same matches as Go's regexp, RE2-invalid syntax rejected."""

from __future__ import annotations

import pytest
from scrape_push.re2 import RE2SyntaxError, compile_anchored, translate

# (RE2 pattern, text, whether Prometheus's anchored regex matches it)
MATCHES: list[tuple[str, str, bool]] = [
    ("a$", "a", True),
    ("a$", "a\n", False),  # Python's $ also matches before a final newline
    ("a\\z", "a", True),
    ("(?m)a$\\n?", "a\n", True),
    ("(?m:a$)\\nb", "a\nb", True),
    ("\\Aab", "ab", True),
    ("\\d+", "123", True),
    ("\\d", "\u0663", False),  # ASCII-only in RE2, Unicode digits in Python
    ("\\w+", "abc_1", True),
    ("\\w", "é", False),
    ("\\W", "é", True),
    ("\\s", "\t", True),
    ("\\s", "\v", False),
    ("\\S", "\v", True),
    ("[\\s]", "\v", False),
    ("[^\\S]", " ", True),
    ("[^\\S]", "\v", False),
    ("[\\D]", "x", True),
    ("[\\W\\d]", "5", True),
    ("é\\b", "é", False),  # \b sees ASCII word characters only
    ("a\\b", "a", True),
    ("a\\B", "a", False),
    ("(?i)a\\b", "A", True),
    ("[[:alpha:]]+", "abcXYZ", True),
    ("[[:^digit:]]", "a", True),
    ("[[:^digit:]]", "1", False),
    ("[[:space:]]", "\v", True),
    ("[[:punct:]]+", "!-/:@[`{~", True),
    ("[[:word:][:xdigit:]]+", "fF_9z", True),
    ("[[x]", "[", True),
    ("[]a]", "]", True),
    ("[a-]", "-", True),
    ("[-a]", "-", True),
    ("[a\\-z]", "-", True),
    ("x{,3}", "x{,3}", True),  # not a repetition in RE2; 0 to 3 x in Python
    ("x{,3}", "xx", False),
    ("x{01}", "x{01}", True),
    ("x{2}", "xx", True),
    ("x{2,}", "xxxx", True),
    ("x{1,2}", "xxx", False),
    ("{", "{", True),
    ("a{", "a{", True),
    ("\\12", "\n", True),  # octal in RE2, a backreference to group 12 in Python
    ("\\0", "\x00", True),
    ("\\101\\x41\\x{41}", "AAA", True),
    ("\\x{1F600}", "\U0001f600", True),
    ("[\\x{3b1}-\\x{3c9}]+", "αβγ", True),
    ("\\Qa.b\\E", "a.b", True),
    ("\\Qa.b\\E", "axb", False),
    ("\\Qa.b", "a.b", True),
    ("\\Q(\\E+", "((", True),
    ("\\a\\f\\t\\n\\r\\v", "\a\f\t\n\r\v", True),
    ("\\.\\_\\-\\#\\ ", "._-# ", True),
    ("#x", "#x", True),  # no verbose mode
    ("a b", "a b", True),
    (".", "\n", False),
    ("(?s).", "\n", True),
    ("(?s:.)", "\n", True),
    ("(?i)abc", "AbC", True),
    ("(?i:a)b", "AB", False),
    ("a(?i)b|c", "C", True),  # flags persist across | in the same group, as in RE2
    ("a(?i)b|c", "aB", True),
    ("a(?i)b|c", "AB", False),
    ("(?i)a(?-i)b", "Ab", True),
    ("(?i)a(?-i)b", "AB", False),
    ("(?i)(?:x|(?-i)y)Z", "XZ", True),
    ("(?i)(?:x|(?-i)y)Z", "YZ", False),
    ("(?i)(?:x|(?-i)y)Z", "yz", True),
    ("(?)a", "a", True),
    ("^*a", "a", True),
    ("(?P<x>a)(?<y>b)", "ab", True),
    ("a|ab", "ab", True),
    ("(a+)+b", "aaab", True),
    ("", "", True),
    ("", "a", False),
]


@pytest.mark.parametrize(("pattern", "text", "matches"), MATCHES)
def test_matches_like_re2(pattern: str, text: str, matches: bool) -> None:
    regex, _ = compile_anchored(pattern)
    assert (regex.fullmatch(text) is not None) is matches


def test_ungreedy_flag_swaps_greediness() -> None:
    regex, _ = compile_anchored("(?U)(a+)(a*)")
    found = regex.fullmatch("aaa")
    assert found is not None
    assert found.groups() == ("a", "aa")
    regex, _ = compile_anchored("(?U)(a+?)(a*)")
    found = regex.fullmatch("aaa")
    assert found is not None
    assert found.groups() == ("aaa", "")


def test_named_groups_become_numbered_with_their_names_kept() -> None:
    translated = translate("(?P<host>[a-z]+):(\\d+)(?<_1st>x)?")
    assert translated.group_names == (None, "host", None, "_1st")
    assert "?P<" not in translated.pattern


REJECTED: list[tuple[str, str]] = [
    ("(a)\\1", "backreferences (\\1) are not supported by RE2"),
    ("\\8", "backreferences (\\8) are not supported by RE2"),
    ("(?P<n>a)(?P=n)", "backreferences (?P=name) are not supported by RE2"),
    ("\\k<n>", "backreferences (\\k) are not supported by RE2"),
    ("a(?=b)", "lookahead (?=...) is not supported by RE2"),
    ("a(?!b)", "negative lookahead (?!...) is not supported by RE2"),
    ("(?<=a)b", "lookbehind (?<=...) is not supported by RE2"),
    ("(?<!a)b", "negative lookbehind (?<!...) is not supported by RE2"),
    ("(?>a+)", "atomic groups (?>...) are not supported by RE2"),
    ("(a)?(?(1)b|c)", "conditionals (?(...)...) are not supported by RE2"),
    ("a(?#note)", "comments (?#...) are not supported by RE2"),
    ("a*+", "invalid nested repetition operator `+` (possessive and doubled repetitions are not RE2)"),
    ("a++", "invalid nested repetition operator `+` (possessive and doubled repetitions are not RE2)"),
    ("a**", "invalid nested repetition operator `*` (possessive and doubled repetitions are not RE2)"),
    ("a{2}{3}", "invalid nested repetition operator `{3}` (possessive and doubled repetitions are not RE2)"),
    ("*a", "missing argument to repetition operator `*`"),
    ("a|?", "missing argument to repetition operator `?`"),
    ("(+)", "missing argument to repetition operator `+`"),
    ("a{1001}", "invalid repeat count `{1001}` (RE2 allows at most 1000)"),
    ("a{2,1}", "invalid repeat count `{2,1}` (RE2 allows at most 1000)"),
    ("(a{100}){11}", "invalid repeat count `{11}`: nested repetitions exceed 1000"),
    (
        "\\pL",
        "Unicode character classes (\\pL) are RE2 syntax that Python's re does not support; "
        "use an explicit range such as [\\x{0370}-\\x{03FF}]",
    ),
    (
        "[\\p{Greek}]",
        "Unicode character classes (\\p{Greek}) are RE2 syntax that Python's re does not "
        "support; use an explicit range such as [\\x{0370}-\\x{03FF}]",
    ),
    (
        "\\PN",
        "Unicode character classes (\\PN) are RE2 syntax that Python's re does not support; "
        "use an explicit range such as [\\x{0370}-\\x{03FF}]",
    ),
    ("a\\Z", "\\Z is not RE2 syntax; use \\z for the end of the text"),
    ("\\C", "\\C (any byte) is not supported"),
    ("\\e", "invalid escape sequence `\\e`"),
    ("\\N{DIGIT ONE}", "invalid escape sequence `\\N`"),
    ("\\u0041", "invalid escape sequence `\\u`"),
    ("\\é", "invalid escape sequence `\\é`"),
    ("[\\b]", "invalid escape sequence `\\b`"),
    ("[\\z]", "invalid escape sequence `\\z`"),
    ("\\x4", "invalid escape sequence `\\x4`"),
    ("\\x{110000}", "invalid escape sequence `\\x{110000}`"),
    ("(?x)a b", "unsupported flag `x` in `(?x`: RE2 knows only the flags i, m, s and U"),
    ("(?a)", "unsupported flag `a` in `(?a`: RE2 knows only the flags i, m, s and U"),
    ("(?i-)", "invalid or unsupported Perl syntax `(?i-)`"),
    ("(?-)", "invalid or unsupported Perl syntax `(?-)`"),
    ("(?'n'a)", "invalid or unsupported Perl syntax `(?'`"),
    ("(?P<a-b>x)", "invalid named capture `(?P<a-b>` (names are letters, digits and _)"),
    ("(?P<>x)", "invalid named capture `(?P<>` (names are letters, digits and _)"),
    ("(?P<n", "invalid named capture `(?P<n` (names are letters, digits and _)"),
    ("[[:foo:]]", "invalid character class range `[:foo:]`"),
    ("[z-a]", "invalid character class range `z-a`"),
    ("[a", "missing closing ]: `[a`"),
    ("[]", "missing closing ]: `[]`"),
    ("(a", "missing closing )"),
    ("a)", "unexpected ): no group is open"),
    ("a\\", "trailing backslash at end of expression"),
]


@pytest.mark.parametrize(("pattern", "message"), REJECTED)
def test_rejects_what_re2_rejects_or_python_cannot_express(pattern: str, message: str) -> None:
    with pytest.raises(RE2SyntaxError) as info:
        translate(pattern)
    assert str(info.value) == message
