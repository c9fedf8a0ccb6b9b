"""A seeded, per-model, per-method fault plan.

SPEC syntax (rules separated by ``;``)::

    seed=42; res.partner/search_read: error500=0.1, latency=20ms; */write: late_commit=0.5, lag=90

* ``seed=N`` sets the seed (default 0).
* A rule is ``SCOPE: key=value, ...``. SCOPE is ``model/method``, ``model`` (all its
  methods) or ``*``; either part may be ``*``. Non-ORM calls use the service as the
  model (``common/login``, ``common/version``, ``db/list``).
* Every rule whose scope matches a call applies, in order; a later rule's keys
  override an earlier one's.

Keys (probabilities are 0..1, durations are seconds, or with an ``ms``/``s`` suffix):

==============  ===============================================================
error500        answer HTTP 500 (the call is not executed)
error429        answer HTTP 429 with ``Retry-After: retry_after`` (not executed)
retry_after     seconds announced in Retry-After (default 1)
reset           close the connection with a TCP reset (not executed)
serialization   answer Odoo's error for ``psycopg2.errors.SerializationFailure``
lock            answer Odoo's error for ``psycopg2.errors.LockNotAvailable`` (not executed)
hang            execute the call, then stall ``hang_for`` seconds before answering
hang_for        default 30
late_execute    answer HTTP 504 now, as a proxy in front of a slow Odoo does (nginx's
                proxy_read_timeout), while the call runs on: it runs now (its write_date
                and its webhooks are of now) and commits ``after`` seconds later
slow_commit     run the call now and keep its transaction open ``after`` seconds before
                committing and answering: its webhooks arrive before its changes are
                visible (Odoo 17 posts them inside the call)
after           default 5
latency         extra delay before every matching call (always applied)
late_commit     the call's writes get a ``write_date`` ``lag`` seconds in the past,
                i.e. before records other calls already committed
lag             default 60
==============  ===============================================================

At most one of error500/error429/reset/serialization/lock/hang/late_execute/slow_commit fires per call. Whether it
fires is a pure function of (seed, model, method, n) where n counts the calls
already made to that model/method: same seed + same call sequence = same faults.
"""
from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

FAULT_KINDS = ("error500", "error429", "reset", "serialization", "lock", "hang", "late_execute", "slow_commit")
PROBABILITIES = FAULT_KINDS + ("late_commit",)
DURATIONS = ("retry_after", "hang_for", "latency", "lag", "after")
DEFAULTS = {"retry_after": 1.0, "hang_for": 30.0, "latency": 0.0, "lag": 60.0, "after": 5.0}
KEYS = PROBABILITIES + DURATIONS


class FaultSpecError(ValueError):
    """A --faults SPEC (or POST /mock/faults body) that cannot be understood."""


@dataclass
class Rule:
    model: str = "*"
    method: str = "*"
    values: dict = field(default_factory=dict)

    def matches(self, model: str, method: str) -> bool:
        return self.model in ("*", model) and self.method in ("*", method)

    def to_dict(self) -> dict:
        return {"model": self.model, "method": self.method, **self.values}


@dataclass
class Decision:
    fault: str | None = None  # one of FAULT_KINDS, or None
    latency: float = 0.0
    retry_after: float = 1.0
    hang_for: float = 30.0
    backdate: float = 0.0  # seconds to move write_date back (late commit)
    after: float = 5.0  # late_execute, slow_commit: seconds the call's transaction stays open


def _duration(key: str, text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*", str(text))
    if not m:
        raise FaultSpecError(f"{key}={text!r}: expected a duration like 2, 1.5s or 250ms")
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value


def _value(key: str, raw) -> float:
    if key not in KEYS:
        raise FaultSpecError(f"unknown fault key {key!r}; known keys: {', '.join(KEYS)}")
    if key in DURATIONS:
        return _duration(key, raw) if isinstance(raw, str) else float(raw)
    try:
        p = float(raw)
    except (TypeError, ValueError):
        raise FaultSpecError(f"{key}={raw!r}: expected a probability between 0 and 1") from None
    if not 0.0 <= p <= 1.0:
        raise FaultSpecError(f"{key}={raw!r}: a probability must be between 0 and 1")
    return p


def _scope(text: str) -> tuple[str, str]:
    text = text.strip()
    if not text:
        raise FaultSpecError("a rule needs a scope before ':' (model/method, model or *)")
    model, _, method = text.partition("/")
    model, method = model.strip() or "*", method.strip() or "*"
    if not re.fullmatch(r"\*|[\w.]+", model) or not re.fullmatch(r"\*|\w+", method):
        raise FaultSpecError(f"bad scope {text!r}: expected model/method, model or *")
    return model, method


class FaultPlan:
    def __init__(self, seed: int = 0, rules: list[Rule] | None = None):
        self.seed = seed
        self.rules = rules or []
        self.counters: dict[str, int] = {}
        self.fired: dict[str, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str | None) -> "FaultPlan":
        seed, rules = 0, []
        for chunk in (spec or "").split(";"):
            chunk = chunk.strip()
            if not chunk:
                continue
            if ":" not in chunk:
                key, eq, value = chunk.partition("=")
                if key.strip() == "seed" and eq:
                    try:
                        seed = int(value)
                    except ValueError:
                        raise FaultSpecError(f"seed={value.strip()!r}: expected an integer") from None
                    continue
                raise FaultSpecError(f"cannot read {chunk!r}: expected 'seed=N' or 'SCOPE: key=value, ...'")
            scope, _, body = chunk.partition(":")
            model, method = _scope(scope)
            values = {}
            for item in body.split(","):
                key, eq, raw = item.partition("=")
                if not eq or not key.strip():
                    raise FaultSpecError(f"cannot read {item.strip()!r} in rule {chunk!r}: expected key=value")
                values[key.strip()] = _value(key.strip(), raw.strip())
            rules.append(Rule(model, method, values))
        return cls(seed, rules)

    @classmethod
    def from_json(cls, data) -> "FaultPlan":
        """From ``{"spec": "..."}`` or ``{"seed": 1, "rules": [{"model": ..., "method": ..., key: value}]}``."""
        if not isinstance(data, dict):
            raise FaultSpecError("expected a JSON object with 'spec' or 'seed'/'rules'")
        if "spec" in data:
            return cls.parse(str(data["spec"]))
        try:
            seed = int(data.get("seed", 0))
        except (TypeError, ValueError):
            raise FaultSpecError("'seed' must be an integer") from None
        rules = []
        for raw in data.get("rules") or []:
            if not isinstance(raw, dict):
                raise FaultSpecError("each rule is an object like {'model': 'res.partner', 'error500': 0.1}")
            model, method = _scope(f"{raw.get('model', '*')}/{raw.get('method', '*')}")
            values = {k: _value(k, v) for k, v in raw.items() if k not in ("model", "method")}
            rules.append(Rule(model, method, values))
        return cls(seed, rules)

    def to_dict(self) -> dict:
        return {"seed": self.seed, "rules": [r.to_dict() for r in self.rules],
                "calls": dict(self.counters), "fired": dict(self.fired)}

    def decide(self, model: str, method: str) -> Decision:
        merged = dict(DEFAULTS)
        matched = False
        for rule in self.rules:
            if rule.matches(model, method):
                merged.update(rule.values)
                matched = True
        key = f"{model}/{method}"
        with self._lock:
            n = self.counters.get(key, 0)
            self.counters[key] = n + 1
        decision = Decision(latency=merged["latency"], retry_after=merged["retry_after"],
                            hang_for=merged["hang_for"], after=merged["after"])
        if not matched:
            return decision
        rng = random.Random(f"{self.seed}|{model}|{method}|{n}")
        draw, late = rng.random(), rng.random()
        edge = 0.0
        for kind in FAULT_KINDS:
            edge += merged.get(kind, 0.0)
            if draw < edge:
                decision.fault = kind
                break
        if late < merged.get("late_commit", 0.0):
            decision.backdate = merged["lag"]
        for name in filter(None, [decision.fault, "late_commit" if decision.backdate else None]):
            with self._lock:
                self.fired[name] = self.fired.get(name, 0) + 1
        return decision
