"""OpenTelemetry spans whose trace ids are the sync's own trace ids (ops.runs.trace_id and the rest).

Off by default: until ``configure`` installs an exporter, ``span`` / ``start`` return at once and
nothing is recorded. ``configure_from_env`` follows the OTel spec's variables (docs/observability.md):
exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is
set or ``OTEL_TRACES_EXPORTER=otlp``; ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` keeps it off.

Why an id generator rather than a made-up remote parent: a span that must join a trace the database
already names (a run's, a webhook event's, an outbox row's) becomes a true root of that trace, so a
collector shows no "missing parent" span. The provider stays this module's own (not the global one),
so configuring twice (tests, a reload) needs no process-wide set-once.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import Link, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bridge.observe import jsonlog

log = jsonlog.get("tracing")
SERVICE_NAME = "specgen-sync"
_NULL = contextlib.nullcontext()
_WANTED: contextvars.ContextVar[int] = contextvars.ContextVar("specgen_otel_trace_id", default=0)
_provider: TracerProvider | None = None
_tracer: trace.Tracer | None = None


class _KnownTraceIds(RandomIdGenerator):
    """A new root span takes the trace id asked for (``_WANTED``), else a random one."""

    def generate_trace_id(self) -> int:
        return _WANTED.get() or super().generate_trace_id()


def trace_int(trace_id: str | None) -> int:
    """A 32-hex trace id as the int OTel uses, else 0 (an X-Trace-Id of another form has no span id)."""
    text = (trace_id or "").strip().lower()
    if len(text) != 32:
        return 0
    try:
        return int(text, 16)
    except ValueError:
        return 0


def enabled() -> bool:
    return _tracer is not None


def configure(exporter: SpanExporter | None, *, batch: bool = False) -> TracerProvider | None:
    """Export spans to ``exporter`` (``batch``: in the background, for a real collector); None turns
    tracing off. A previous provider is flushed and shut down."""
    global _provider, _tracer
    if _provider is not None:
        _provider.shutdown()
    _provider = _tracer = None
    if exporter is None:
        return None
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))  # OTEL_SERVICE_NAME wins when set
    _provider = TracerProvider(resource=resource, id_generator=_KnownTraceIds())
    _provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    _tracer = _provider.get_tracer("specgen.bridge")
    return _provider


def configure_from_env(env) -> bool:
    """Turn tracing on if the standard OTEL_* variables in ``env`` (the settings' snapshot of the
    environment) ask for it; True if it is on. The OTLP exporter then reads its endpoint, headers and
    timeout from the process environment itself, as the OpenTelemetry SDK does everywhere."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        configure(None)
        return False
    wanted = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    endpoint = (env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip()
    if wanted in ("", "otlp") and (endpoint or wanted == "otlp"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or ""
        if protocol.strip() not in ("", "http/protobuf"):
            jsonlog.log(log, logging.WARNING, "only OTLP over http/protobuf is supported; using it", protocol=protocol)
        configure(OTLPSpanExporter(), batch=True)  # endpoint, headers, timeout: the exporter reads OTEL_* itself
        parts = urlsplit(endpoint or "http://localhost:4318")
        # the host only: OTEL_EXPORTER_OTLP_HEADERS (an API key) and any userinfo never reach a log line
        jsonlog.log(log, logging.INFO, "traces exported over OTLP", endpoint=f"{parts.scheme}://{parts.hostname}"
                    f"{':' + str(parts.port) if parts.port else ''}{parts.path}")
        return True
    if wanted not in ("", "none", "otlp"):
        jsonlog.log(log, logging.WARNING, "OTEL_TRACES_EXPORTER not supported; traces stay off", exporter=wanted)
    configure(None)
    return False


def start(name: str, trace_id: str | None = None, attributes: dict | None = None, *, carrier=None,
          links: list | None = None):
    """Open a span and make it current; ``finish`` ends it. It joins the current span, unless
    ``trace_id`` names another trace: then it is a root of that trace. ``carrier`` (headers) may hold a
    W3C traceparent, whose span becomes the remote parent. None when tracing is off."""
    if _tracer is None:
        return None
    wanted = trace_int(trace_id)
    parent = None  # the current context
    if carrier is not None and trace.get_current_span(TraceContextTextMapPropagator().extract(carrier)) \
            .get_span_context().trace_id == wanted != 0:
        parent = TraceContextTextMapPropagator().extract(carrier)
    elif wanted and trace.get_current_span().get_span_context().trace_id != wanted:
        parent = otel_context.Context()  # empty: no parent, so the id generator is asked
    token = _WANTED.set(wanted)
    try:
        span = _tracer.start_span(name, context=parent, links=links,
                                  attributes={k: v for k, v in (attributes or {}).items() if v is not None})
    finally:
        _WANTED.reset(token)
    return span, otel_context.attach(trace.set_span_in_context(span))


def finish(handle, error: str | None = None, exc: BaseException | None = None) -> None:
    """End a span from ``start``: with ``error``, its status is ERROR (``exc`` recorded alongside)."""
    if handle is None:
        return
    span, token = handle
    if exc is not None:
        span.record_exception(exc)
    if error:
        span.set_status(Status(StatusCode.ERROR, error[:500]))
    span.end()
    otel_context.detach(token)


@contextlib.contextmanager
def _span(name, trace_id, attributes, carrier, links):
    handle = start(name, trace_id, attributes, carrier=carrier, links=links)
    try:
        yield handle[0]
    except BaseException as exc:
        finish(handle, f"{type(exc).__name__}: {exc}", exc)
        raise
    finish(handle)


def span(name: str, trace_id: str | None = None, attributes: dict | None = None, *, carrier=None, links=()):
    """``with span('odoo res.partner.read', trace_id, {...}):`` -- an exception marks it ERROR.
    ``links``: spans this one serves (the runs doing the work, when they are in another trace)."""
    if _tracer is None:
        return _NULL
    return _span(name, trace_id, attributes, carrier, [Link(s.get_span_context()) for s in links if s is not None])


def error(reason: str) -> None:
    """Mark the current span failed (work that failed without raising: a retried outbox row)."""
    if _tracer is not None:
        trace.get_current_span().set_status(Status(StatusCode.ERROR, reason[:500]))


def span_id_for(trace_id: str) -> str | None:
    """The current span's id (16 hex) if it belongs to ``trace_id``: the parent to name in traceparent."""
    ctx = trace.get_current_span().get_span_context()
    if _tracer is None or not ctx.is_valid or ctx.trace_id != trace_int(trace_id):
        return None
    return f"{ctx.span_id:016x}"
