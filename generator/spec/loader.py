"""Read a spec YAML file fast, and find line/column marks only when an error needs them.

Parsing is the hot spot of a large build (PyYAML takes seconds on a 500-entity spec), so the data
comes from yaml-rs (YAML 1.2, Rust). PyYAML composes a node tree with marks lazily, the first
time a diagnostic has to say where something is.
"""
from __future__ import annotations

import datetime as _dt
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

_DATE_LIKE = re.compile(r"[:\-\[,]\s*\d{4}-\d\d?-\d\d?")  # an unquoted YAML date can only follow these
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
            self._nodes = yaml.compose(self.text, Loader=_ComposeLoader)
        return self._nodes


def _plain(value: Any) -> Any:
    """Dates and times become ISO strings, so the rest of the compiler sees JSON-like data only."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    return value




def load_yaml(path: Path, shown_as: str) -> SourceFile:
    """Parse one YAML file. Raises SpecError with the exact position of any syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Diagnostic(shown_as, 1, 1, "file not found", "run `specgen init` to create a starter spec")])
    except UnicodeDecodeError as exc:
        raise SpecError([Diagnostic(shown_as, 1, 1, f"not UTF-8 text ({exc.reason})")])
    if "\x00" in text:  # yaml-rs would silently cut the value at it
        raise SpecError(_raw_nul_diagnostics(text, shown_as))
    try:
        data = yaml_rs.loads(text)
    except (yaml_rs.YAMLDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise SpecError([_syntax_diagnostic(text, shown_as, exc)])
    if _DATE_LIKE.search(text) and _has_dates(data):
        data = _plain(data)
    if data is None:
        data = {}
    source = SourceFile(shown_as, text, data)
    if "\\" in text:  # only a YAML escape (\0, \x00, \u0000) can put a NUL in a value
        nuls = [source.diag(path, NUL_MESSAGE, NUL_HINT, key=key) for path, key in _nul_paths(data, ())]
        if nuls:
            raise SpecError(nuls)
    return source


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


def _has_dates(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_dates(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_dates(v) for v in value)
    return isinstance(value, (_dt.date, _dt.datetime, _dt.time))


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
        return Diagnostic(shown_as, line, col, f"invalid YAML: {problem}", "fix the YAML syntax at this position")
    except _DuplicateKey as dup:
        return dup.diagnostic
    except yaml.YAMLError as err:  # pragma: no cover - unmarked PyYAML errors are rare
        return Diagnostic(shown_as, 1, 1, f"invalid YAML: {err}")
    # PyYAML accepted what yaml-rs refused: report yaml-rs's own words.
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return Diagnostic(shown_as, 1, 1, f"invalid YAML: {first}")


class _DuplicateKey(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def _check_duplicates(node, shown_as: str) -> None:
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, Any] = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and k.value in seen:
                    first = seen[k.value]
                    raise _DuplicateKey(Diagnostic(
                        shown_as, k.start_mark.line + 1, k.start_mark.column + 1,
                        f"duplicate key {k.value!r} (first defined at line {first.line + 1})",
                        "a mapping may name each key once; remove or merge one of them"))
                seen[getattr(k, "value", None)] = k.start_mark
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
