"""`check: {pattern: ...}`: one regular expression, four engines.

The pattern is enforced by PostgreSQL (`col ~ 'pattern'`, an ARE), by pydantic (the Rust `regex` crate, which
pydantic 2 uses by default), by zod (a JavaScript `RegExp` without flags) and by OpenAPI validators (ECMA 262,
as JSON Schema says). These engines read many constructs differently: POSIX classes `[[:alpha:]]` are a
character set of `[`, `:`, `a`, ... in JavaScript and Python; `.` matches a newline in PostgreSQL only; `\\w`
is ASCII in JavaScript and Unicode elsewhere; lazy quantifiers follow other rules in an ARE; lookarounds and
backreferences do not exist in Rust; `a{` is a literal in one engine and an error in the next.

So a pattern must be written in a small subset whose meaning is the same everywhere, which `problem` checks
without any of the engines (check needs neither node nor a database); tests/compiler/test_patterns.py compiles and
runs accepted patterns in all four. PostgreSQL gets the pattern as written (the database is the reference);
`for_target` rewrites the few constructs the other engines spell differently:

- `.` becomes `[\\s\\S]` (any character, newline included, as in PostgreSQL);
- `\\d` becomes `[0-9]` (PostgreSQL's digits under glibc; Rust's `\\d` would take every Unicode digit) and
  `\\D` becomes `[^0-9]`;
- POSIX classes inside a bracket become ASCII ranges (`[[:alpha:]_]` -> `[A-Za-z_]`).
"""
from __future__ import annotations

POSIX = {"alpha": "A-Za-z", "digit": "0-9", "alnum": "A-Za-z0-9", "upper": "A-Z", "lower": "a-z",
         "xdigit": "0-9A-Fa-f", "space": " \\t\\n\\r\\f\\v", "blank": " \\t"}
SYNTAX = set("^$\\.*+?()[]{}|/")
CLASS_ESCAPES = set("\\]^-[")
CHAR_ESCAPES = {"n": "\\n", "t": "\\t", "r": "\\r", "f": "\\f", "v": "\\v"}
MAX_REPEAT = 255  # PostgreSQL's RE_DUP_MAX


class PatternError(ValueError):
    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.hint = hint


def problem(pattern: str) -> tuple[str, str] | None:
    """None if the pattern is in the portable subset, else (what is wrong, what to write instead)."""
    try:
        _translate(pattern, "pg")
    except PatternError as exc:
        return str(exc), exc.hint
    return None


def for_target(pattern: str, target: str) -> str:
    """The pattern for `pg`, `rust` (pydantic) or `js` (zod, OpenAPI). Only call with a valid pattern."""
    return pattern if target == "pg" else _translate(pattern, target)


def _translate(p: str, target: str) -> str:
    return _Translation(p, target).run()


class _Translation:
    """One pass over a pattern, left to right: refuses what is not portable, writes the rest for `target`."""

    def __init__(self, p: str, target: str):
        self.p, self.target, self.portable = p, target, target == "pg"
        self.out: list[str] = []
        self.i = 0
        self.depth = 0
        # what precedes: "start" (nothing to repeat), "atom" (repeatable), "quant" (a quantifier just ended)
        self.prev = "start"

    def fail(self, msg: str, hint: str):
        raise PatternError(f"pattern {self.p!r}: {msg} (at character {self.i + 1})", hint)

    def emit(self, text: str, width: int, prev: str) -> None:
        self.out.append(text)
        self.i += width
        self.prev = prev

    def run(self) -> str:
        p = self.p
        for ch in p:
            if ord(ch) > 0xFFFF:
                self.fail(f"{ch!r} is outside the Basic Multilingual Plane", "JavaScript without the u flag sees "
                          "two code units; leave such characters out of patterns")
            if ch == "\x00":
                self.fail("a NUL character", "remove it")
        while self.i < len(p):
            ch = p[self.i]
            if ch == "\\":
                self.escape()
            elif ch == "[":
                end, text = _bracket(p, self.i, self.target, self.fail)
                self.emit(text, end - self.i, "atom")
            elif ch in "*+?":
                self.repeat(ch)
            elif ch == "{":
                self.braces()
            elif ch in "}]":
                self.fail(f"an unescaped {ch!r}", f"escape it as \\{ch}")
            elif ch == "(":
                self.open_group()
            elif ch == ")":
                if self.depth == 0:
                    self.fail("an unmatched ')'", "escape it as \\) or add the '('")
                self.depth -= 1
                self.emit(")", 1, "atom")
            elif ch == "|":
                self.emit("|", 1, "start")
            elif ch in "^$":
                self.emit(ch, 1, "anchor")
            elif ch == ".":
                self.emit("." if self.portable else "[\\s\\S]", 1, "atom")
            else:
                self.emit(ch, 1, "atom")
        if self.depth:
            self.i = len(p) - 1
            self.fail("an unclosed '('", "add the ')'")
        return "".join(self.out)

    def escape(self) -> None:
        if self.i + 1 >= len(self.p):
            self.fail("the pattern ends with a lone backslash", "escape it as \\\\")
        nxt = self.p[self.i + 1]
        if nxt in SYNTAX or nxt in "sS":
            text = "\\" + nxt
        elif nxt in CHAR_ESCAPES:
            text = CHAR_ESCAPES[nxt]
        elif nxt == "d":
            text = "\\d" if self.portable else "[0-9]"
        elif nxt == "D":
            text = "\\D" if self.portable else "[^0-9]"
        elif nxt in "wW":
            self.fail(f"\\{nxt} means ASCII word characters in JavaScript and Unicode ones elsewhere",
                      "write the characters out, e.g. [A-Za-z0-9_]")
        else:
            self.fail(f"the escape \\{nxt} is not portable (backreferences, \\b, \\A, \\x.., \\u.. and others "
                      "mean different things in PostgreSQL, Python, Rust and JavaScript)",
                      "escape only ^ $ \\ . * + ? ( ) [ ] { } | /; use \\d, \\s, \\n, \\t or a bracket")
        self.emit(text, 2, "atom")

    def repeat(self, ch: str) -> None:
        if self.prev != "atom":
            self.fail(f"{ch!r} has nothing to repeat" if self.prev in ("start", "anchor") else
                      f"{ch!r} after a quantifier (lazy and possessive quantifiers are not portable)",
                      "escape it (\\" + ch + ") to match it literally")
        self.emit(ch, 1, "quant")

    def braces(self) -> None:
        p, i = self.p, self.i
        close = p.find("}", i)
        body = p[i + 1:close] if close > 0 else ""
        parts = body.split(",")
        if close < 0 or not body or len(parts) > 2 or not parts[0].isdigit() or \
                not all(x.isdigit() for x in parts[1:] if x) or not all(x.isascii() for x in parts):
            self.fail("'{' that is not a quantifier {n}, {n,} or {n,m}", "escape it as \\{ to match a brace")
        if self.prev != "atom":
            self.fail("a {n,m} quantifier with nothing to repeat, or after another quantifier",
                      "put it after one character, bracket or group")
        nums = [int(x) for x in parts if x]
        if any(x > MAX_REPEAT for x in nums):
            self.fail(f"a repeat count above {MAX_REPEAT} (PostgreSQL's limit)", f"use at most {MAX_REPEAT}")
        if len(nums) == 2 and nums[0] > nums[1]:
            self.fail(f"{{{body}}} has a minimum above its maximum", "swap the numbers")
        self.emit(p[i:close + 1], close + 1 - i, "quant")

    def open_group(self) -> None:
        if self.p.startswith("(?:", self.i):
            self.emit("(?:", 3, "start")
        elif self.p.startswith("(?", self.i):
            self.fail("'(?' groups other than (?:...) (lookarounds, named groups, flags) are not portable",
                      "use (...) or (?:...)")
        else:
            self.emit("(", 1, "start")
        self.depth += 1


def _bracket(p: str, start: int, target: str, fail) -> tuple[int, str]:
    """A bracket expression from p[start] == '['; returns (index after it, its text for target)."""
    i = start + 1
    out = ["["]
    if p.startswith("^", i):
        out.append("^")
        i += 1
    if p.startswith("]", i):
        fail("']' first in a bracket (a literal in PostgreSQL and Python, an empty set in JavaScript)",
             "escape it as \\]")
    items = 0
    last = ""
    while True:
        if i >= len(p):
            fail("an unclosed '['", "add the ']', or escape the '[' as \\[")
        ch = p[i]
        if ch == "]":
            break
        if p.startswith("[:", i):
            close = p.find(":]", i + 2)
            name = p[i + 2:close] if close > 0 else ""
            if name not in POSIX:
                fail(f"[:{name}:] is not one of the POSIX classes specgen translates",
                     f"use one of {', '.join(f'[:{k}:]' for k in POSIX)}, or list the characters")
            out.append(f"[:{name}:]" if target == "pg" else POSIX[name])
            i = close + 2
            items += 1
            last = "class"
            continue
        if ch == "[":
            fail("an unescaped '[' inside a bracket", "escape it as \\[")
        if p.startswith(("&&", "--", "~~", "||"), i):
            fail(f"{p[i:i + 2]!r} inside a bracket (set operations in Rust and Python's future syntax)",
                 "write the character once, or escape it")
        if ch == "\\":
            if i + 1 >= len(p):
                fail("the pattern ends with a lone backslash", "escape it as \\\\")
            nxt = p[i + 1]
            if nxt in CLASS_ESCAPES:
                out.append("\\" + nxt)
            elif nxt in CHAR_ESCAPES:
                out.append(CHAR_ESCAPES[nxt])
            elif nxt == "s":
                out.append("\\s")
            elif nxt == "d":
                out.append("\\d" if target == "pg" else "0-9")
            else:
                fail(f"the escape \\{nxt} inside a bracket is not portable",
                     "escape only \\ ] [ ^ - there; use \\d, \\s, \\n, \\t")
            last = "class" if nxt in "sd" else "escaped"
            i += 2
            items += 1
            continue
        if ch == "-" and last in ("class", "escaped", "range") and not p.startswith("-]", i):
            fail("a '-' after a class, an escape or a range (a range there means different things per engine)",
                 "escape the '-' as \\-")
        if ch == "-" and last == "char" and not p.startswith("-]", i) and i + 1 < len(p):
            lo = p[i - 1]
            hi = p[i + 1]
            if hi == "\\" or hi == "[":
                fail("a range ending in an escape or a class", "write the range with plain characters")
            if lo > hi:
                fail(f"the range {lo}-{hi} is out of order", f"write {hi}-{lo}")
            out.append("-" + hi)
            i += 2
            items += 1
            last = "range"
            continue
        out.append(ch)
        i += 1
        items += 1
        last = "char"
    if not items:
        fail("an empty bracket", "put at least one character in it")
    out.append("]")
    return i + 1, "".join(out)
