"""How the dashboard's templates format values (jinja filters and globals), and their environment."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape

from bridge.adapters import json_default
from bridge.observe import jsonlog


def ago(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if value is None:
        return "never"
    return f"{duration((now or dt.datetime.now(dt.timezone.utc)) - value)} ago"


def duration(value) -> str:
    if value is None:
        return "–"
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def utc(value: dt.datetime | None) -> str:
    return "–" if value is None else value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def percent(value) -> str:
    return "–" if value is None else f"{float(value) * 100:.0f}%"


def to_json(value) -> str:
    return orjson.dumps(jsonlog.redact(value), default=json_default, option=orjson.OPT_INDENT_2).decode()


def flags(row: dict) -> list[str]:
    names = {"stalled": "stalled", "error_rate_high": "errors", "dead_letters_growing": "dead letters growing",
             "latency_high": "slow", "outbox_stuck": "outbox stuck", "push_retrying": "push retrying"}
    return [label for key, label in names.items() if row.get(key)]


def chart(series: dict, width: int = 360, height: int = 120) -> dict:
    """Lines (and a dot per bucket, so one bucket still shows) for p50/p95/p99 of one latency series,
    drawn by the template as an inline SVG."""
    points = series["points"]
    top = max([p["p99"] or 0 for p in points] + [0.001])
    n = max(len(points) - 1, 1)

    def xy(i, value):
        x = (i / n) * (width - 40) + 35 if len(points) > 1 else (width + 30) / 2
        return round(x, 1), round(height - 15 - (value or 0) / top * (height - 25), 1)

    lines = []
    for key in ("p50", "p95", "p99"):
        coords = [xy(i, p[key]) for i, p in enumerate(points)]
        lines.append({"name": key, "coords": coords, "points": " ".join(f"{x},{y}" for x, y in coords)})
    return {"width": width, "height": height, "top": duration(top), "lines": lines if points else []}


def environment() -> Environment:
    env = Environment(loader=PackageLoader("bridge.http.dashboard", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters.update(ago=ago, duration=duration, utc=utc, percent=percent, to_json=to_json)
    env.globals.update(flags=flags, chart=chart, urlencode=urlencode)
    return env
