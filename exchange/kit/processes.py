"""Helper processes that must not outlive the process that started them."""

from __future__ import annotations

import os
import select
import threading
import time

__all__ = ["exit_with"]


def exit_with(pid: int) -> None:
    """End this process when process ``pid`` ends, however it ended (a thread waits for it).

    A ``ProcessPoolExecutor`` worker waits for work on a queue whose writing end it holds too, so when the
    process that owns the pool is killed with SIGKILL (or by the OOM killer) nothing else tells its workers to
    stop: they would wait for ever. Call this in the pool's initializer with the owner's pid."""

    def watch() -> None:
        try:
            fd = os.pidfd_open(pid)  # Linux >= 5.3: readable once the process has ended
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            poller.poll()
        except (AttributeError, OSError, ValueError):
            while _alive(pid):
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name=f"exit-with-{pid}", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or the pid now belongs to another user's process
        return False
    return True
