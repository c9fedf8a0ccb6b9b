"""Observability: JSON logs, Prometheus metrics, OpenTelemetry tracing."""
