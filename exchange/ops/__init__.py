"""Operations: Prometheus metrics at ``/metrics`` and structured JSON logs with a request id."""
