"""Read a spec YAML file fast, and find line/column marks only when an error needs them.

Parsing is the hot spot of a large build (PyYAML takes seconds on a 500-entity spec), so the data
comes from yaml-rs (YAML 1.2, Rust). PyYAML composes a node tree with marks lazily, the first
time a diagnostic has to say where something is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
import yaml_rs

from generator.errors import Diagnostic, SpecError

try:  # libyaml makes the marks pass three times faster where it is available
    _ComposeLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _ComposeLoader = yaml.SafeLoader

PathKey = tuple  # a path into the data: ("entities", 3, "fields", 0, "name")


@dataclass
class SourceFile:
    """One loaded spec file: its parsed data and a lazy index of where each value stands."""

    path: str  # as shown in diagnostics (relative to the working directory when possible)
    text: str
    data: Any
    _nodes: Any = field(default=None, repr=False)

    def locate(self, path: PathKey, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `path`, or of its key when `key` is set.

        Walks as deep as the path exists, so a missing key points at the mapping that lacks it.
        """
        node = self._root()
        if node is None:
            return (1, 1)
        mark = node.start_mark
        for part in path:
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == part:
                        mark = k.start_mark if key and part == path[-1] else v.start_mark
                        node = v
                        break
                else:
                    break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                mark = node.start_mark
            else:
                break
        return (mark.line + 1, mark.column + 1)

    def diag(self, path: PathKey, message: str, hint: str = "", key: bool = False) -> Diagnostic:
        line, col = self.locate(path, key=key)
        return Diagnostic(self.path, line, col, message, hint)

    def _root(self):
        if self._nodes is None:
            try:
                self._nodes = yaml.compose(self.text, Loader=_ComposeLoader)
            except yaml.YAMLError:  # pragma: no cover - load_yaml refuses what PyYAML cannot compose
                self._nodes = False
        return self._nodes or None

    def node(self, path: PathKey):
        """The PyYAML node at `path` (None where the path does not exist)."""
        node = self._root()
        for part in path:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:
                return None
        return node




def load_yaml(path: Path, shown_as: str) -> SourceFile:
    """Parse one YAML file. Raises SpecError with the exact position of any syntax error."""
    text = _read_text(path, shown_as)
    if text.startswith(BOM):  # accepted and skipped, as YAML 1.2 and most YAML tools do
        text = text[1:]
    if "\x00" in text:  # yaml-rs would silently cut the value at it
        raise SpecError(_raw_nul_diagnostics(text, shown_as))
    if _NON_PRINTABLE.search(text):  # YAML forbids them; yaml-rs lets some through, PyYAML's marks refuse them
        raise SpecError(_control_diagnostics(text, shown_as))
    try:
        # dates and times stay the text written, quoted or not: the compiler sees JSON-like data only (with
        # parse_datetime on, yaml-rs also turns a *quoted* '2026-01-31' into a date)
        data = yaml_rs.loads(text, parse_datetime=False)
    except (yaml_rs.YAMLDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise SpecError([_syntax_diagnostic(text, shown_as, exc)])
    if data is None:
        data = {}
    source = SourceFile(shown_as, text, data)
    bad_keys = list(_non_string_keys(data, ()))
    if bad_keys:
        raise SpecError([_non_string_key_diagnostic(source, path, index, key) for path, index, key in bad_keys])
    if "\\" in text:  # only a YAML escape (\0, \x00, \u0000) can put a NUL in a value
        nuls = [source.diag(path, NUL_MESSAGE, NUL_HINT, key=key) for path, key in _nul_paths(data, ())]
        if nuls:
            raise SpecError(nuls)
    return source


BOM = "\ufeff"


def _read_text(path: Path, shown_as: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Diagnostic(shown_as, 1, 1, "file not found", "run `specgen init` to create a starter spec")])
    except IsADirectoryError:
        raise SpecError([Diagnostic(shown_as, 1, 1, "is a directory, not a YAML file",
                                    f"move the directory away and put the spec file at {shown_as}")])
    except UnicodeDecodeError as exc:
        raise SpecError([Diagnostic(shown_as, 1, 1, f"not UTF-8 text ({exc.reason})", "save the file as UTF-8")])
    except OSError as exc:
        raise SpecError([Diagnostic(shown_as, 1, 1, f"cannot read the file: {exc.strerror or exc}",
                                    "make it a readable YAML file")])


# What YAML 1.2 allows in a stream (c-printable), the same set PyYAML's reader checks; NUL is reported apart.
_NON_PRINTABLE = re.compile("[^\x00\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _control_diagnostics(text: str, shown_as: str) -> list[Diagnostic]:
    out = []
    for number, line in enumerate(text.split("\n"), 1):
        for match in _NON_PRINTABLE.finditer(line):
            code = ord(match.group())
            out.append(Diagnostic(
                shown_as, number, match.start() + 1, f"control character U+{code:04X} is not allowed in YAML",
                f'remove it, or write it as an escape inside a double-quoted string ("\\x{code:02x}")'
                if code < 0x100 else f'remove it, or write it as an escape inside a double-quoted string ("\\u{code:04x}")'))
    return out


def _non_string_keys(value: Any, path: tuple):
    """(path of the mapping, position of the key in it, key) of every key that is not a string."""
    if isinstance(value, dict):
        for index, (k, v) in enumerate(value.items()):
            if not isinstance(k, str):
                yield path, index, k
            else:
                yield from _non_string_keys(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _non_string_keys(v, (*path, i))


def _non_string_key_diagnostic(source: SourceFile, path: tuple, index: int, key: Any) -> Diagnostic:
    if key is None:
        what = "null"
    elif isinstance(key, bool):
        what = f"{str(key).lower()} (a boolean)"
    elif isinstance(key, (int, float)):
        what = f"{key!r} (a number)"
    else:
        what = f"{key} (a {type(key).__name__})"
    if isinstance(key, (tuple, frozenset)):
        message = "a list or a mapping cannot be a key"
    else:
        message = f"key {what} is not a string"
    node = source.node(path)
    line, col = source.locate(path)
    if isinstance(node, yaml.MappingNode) and index < len(node.value):
        mark = node.value[index][0].start_mark
        line, col = mark.line + 1, mark.column + 1
    hint = ("keys are names: use a name, or quote the key to make it a string"
            if not isinstance(key, (tuple, frozenset)) else "keys are names: use a name")
    return Diagnostic(source.path, line, col, message, hint)


# PostgreSQL text cannot hold U+0000, so a spec string with one could never reach the database intact.
NUL_MESSAGE = "a NUL character (\\0) cannot be part of a spec string: PostgreSQL text cannot hold it"
NUL_HINT = "remove the \\0 (or \\x00, \\u0000) escape"


def _raw_nul_diagnostics(text: str, shown_as: str) -> list[Diagnostic]:
    out = []
    for number, line in enumerate(text.split("\n"), 1):
        if "\x00" in line:
            out.append(Diagnostic(shown_as, number, line.index("\x00") + 1, NUL_MESSAGE.replace("(\\0) ", ""),
                                  "remove the NUL byte from the file"))
    return out


def _nul_paths(value: Any, path: tuple):
    """(path, is_key) of every string, key or value, that holds a NUL."""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and "\x00" in k:
                yield (*path, k), True
            yield from _nul_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _nul_paths(v, (*path, i))
    elif isinstance(value, str) and "\x00" in value:
        yield path, False


def _syntax_diagnostic(text: str, shown_as: str, exc: Exception) -> Diagnostic:
    """Locate a syntax error with PyYAML's marks; yaml-rs does not always say where."""
    try:
        _check_duplicates(yaml.compose(text, Loader=_ComposeLoader), shown_as)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or str(err)
        if err.context:
            started = err.context_mark
            at = f" that starts at line {started.line + 1}" if started and mark and started.line != mark.line else ""
            problem = f"{problem} ({err.context}{at})"
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return _worded(shown_as, text, line, col, f"invalid YAML: {problem}", err.context or "")
    except _DuplicateKey as dup:
        return dup.diagnostic
    except yaml.YAMLError as err:  # pragma: no cover - unmarked PyYAML errors are rare
        return Diagnostic(shown_as, 1, 1, f"invalid YAML: {err}")
    # PyYAML accepted what yaml-rs refused: report yaml-rs's own words, where it says.
    words = str(exc).splitlines() if str(exc) else [type(exc).__name__]
    if isinstance(exc, UnicodeEncodeError):  # a "\ud800" escape: a lone surrogate is no character
        at = _SURROGATE_ESCAPE.search(text)
        line, col = _position(text, at.start()) if at else (1, 1)
        return Diagnostic(shown_as, line, col, "invalid YAML: this escape is half of a UTF-16 surrogate pair, "
                          "not a character", "write the character itself, or its \\U0001xxxx escape")
    where = re.match(r"YAML parse error at line (\d+), column (\d+)", words[0])
    if where:
        reason = words[-1].strip() if len(words) > 1 else words[0]
        return _worded(shown_as, text, int(where.group(1)), int(where.group(2)), f"invalid YAML: {reason}", "")
    return Diagnostic(shown_as, 1, 1, f"invalid YAML: {words[0]}", "fix the YAML syntax")


_SURROGATE_ESCAPE = re.compile(r"\\(u[dD][89a-fA-F][0-9a-fA-F]{2}|U0000[dD][89a-fA-F][0-9a-fA-F]{2})")
_LEAD = re.compile(r"[ \t?:-]*")
_FLOW_SYNTAX = ("did not find expected ',' or '}'", "did not find expected ',' or ']'")


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _worded(shown_as: str, text: str, line: int, col: int, message: str, context: str) -> Diagnostic:
    """The syntax error, said in the user's terms where its cause is a tab or a flow-style indicator."""
    lines = text.split("\n")
    row = lines[line - 1] if 0 < line <= len(lines) else ""
    near = row[max(col - 2, 0):col]  # yaml-rs points at or just after the character, PyYAML at it
    tab = None
    if "\t" in near:
        tab = (line, row.index("\t", max(col - 2, 0)))
    else:  # a tab among the indentation and indicators of this line or the one before
        for number in (line, line - 1):
            lead = _LEAD.match(lines[number - 1]).group() if 0 < number <= len(lines) else ""
            if "\t" in lead:
                tab = (number, lead.index("\t"))
                break
    if tab:
        return Diagnostic(shown_as, tab[0], tab[1] + 1, "invalid YAML: a tab character here; YAML allows only "
                          "spaces for indentation and after ':' or '-'", "replace the tab with spaces")
    if any(problem in message for problem in _FLOW_SYNTAX) and "flow" in context:
        if col > 1 and row[col - 1:col] in ("[", "{") and row[col - 2] not in " \t,[{":
            return Diagnostic(shown_as, line, col, message,
                              "inside {...} and [...] the characters , [ ] { } are YAML syntax: quote a value that "
                              'holds them, as type: "text[]" or type: "numeric(12,2)"')
        return Diagnostic(shown_as, line, col, message, "close every { with } and every [ with ], "
                          "and separate the items with commas")
    return Diagnostic(shown_as, line, col, message, "fix the YAML syntax at this position")


class _DuplicateKey(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def _check_duplicates(node, shown_as: str) -> None:
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for k, v in n.value:
                same = _key_identity(k)
                if isinstance(k, yaml.ScalarNode) and same in seen:
                    first = seen[same]
                    raise _DuplicateKey(Diagnostic(
                        shown_as, k.start_mark.line + 1, k.start_mark.column + 1,
                        f"duplicate key {k.value!r} (first defined at line {first.line + 1})",
                        "a mapping may name each key once; remove or merge one of them"))
                seen[same] = k.start_mark
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


def _key_identity(node) -> Any:
    """What a key means to yaml-rs: `~` and `null`, `1` and `0x1` are the same key; quoted keys are strings."""
    if not isinstance(node, yaml.ScalarNode):
        return ("node", id(node))
    if node.style:  # quoted or block scalar ('' or None is plain, depending on the loader)
        return ("str", node.value)
    try:
        value = yaml_rs.loads(node.value, parse_datetime=False) if node.value else None
    except Exception:  # noqa: BLE001 - whatever yaml-rs cannot read alone is compared as text
        return ("str", node.value)
    return ("str", value) if isinstance(value, str) else (type(value).__name__, repr(value))
