"""Process set-up for ``licex serve``: a private, empty Prometheus multiprocess directory per server."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from .metrics import MULTIPROC_ENV

__all__ = ["prepare_process_metrics"]


def prepare_process_metrics() -> str:
    """Point ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory (unless the operator set one) and remove it when
    the server exits. Must run before ``prometheus_client`` is imported; the workers inherit the variable."""
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        os.makedirs(configured, exist_ok=True)
        return configured
    path = tempfile.mkdtemp(prefix="licex-metrics-")
    os.environ[MULTIPROC_ENV] = path
    atexit.register(shutil.rmtree, path, True)
    return path
