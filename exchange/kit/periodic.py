"""One periodic background thread for a serving process (the log sequencer, the retention purge)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicJob:
    """Calls ``tick()`` every ``interval`` seconds in a daemon thread until :meth:`stop`.

    A tick that raises is logged and the next tick tries again (each tick is its own unit of work, rolled back
    as a whole on failure), so one bad batch never stops the job.
    """

    def __init__(self, name: str, interval: float, tick: Callable[[], object]) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.name = name
        self._interval = interval
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._tick()
            except Exception:  # the next tick retries
                log.exception("background job %s failed", self.name)
