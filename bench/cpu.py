"""CPU accounting for the benchmarks: which process (server, client, workers, PostgreSQL) spent the CPU."""

from __future__ import annotations

from typing import Any


def process_seconds(proc: Any) -> float:
    """User + system CPU seconds of a ``psutil.Process`` so far (0 for one that has gone)."""
    import psutil

    try:
        t = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return float(t.user + t.system)


def postgres_seconds() -> float:
    """CPU seconds so far of every PostgreSQL process on this machine."""
    import psutil

    return sum(process_seconds(p) for p in psutil.process_iter(["name"])
               if (p.info.get("name") or "").startswith("postgres"))


def machine_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine (every CPU, every process) so far."""
    import psutil

    machine = psutil.cpu_times()
    return float(sum(machine) - machine.idle - getattr(machine, "iowait", 0.0))
