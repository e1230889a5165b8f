"""Helper processes end with the process that started them, even when it is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

HELPER = (
    "import os, sys, time\n"
    "from exchange.kit.processes import exit_with\n"
    "exit_with(int(sys.argv[1]))\n"
    "print(os.getpid(), flush=True)\n"
    "time.sleep(120)\n"
)
OWNER = (
    "import os, subprocess, sys, time\n"
    "helper = subprocess.Popen([sys.executable, '-c', sys.argv[1], str(os.getpid())], stdout=subprocess.PIPE)\n"
    "print(helper.stdout.readline().decode().strip(), flush=True)\n"
    "time.sleep(120)\n"
)


def test_helper_outlives_nothing_but_lives_while_its_owner_does() -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER, HELPER], stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert owner.stdout is not None
        helper = psutil.Process(int(owner.stdout.readline().decode().strip()))
        time.sleep(1.5)
        assert helper.is_running() and helper.status() != psutil.STATUS_ZOMBIE  # owner alive: helper stays
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
        _gone, alive = psutil.wait_procs([helper], timeout=10)
        assert not alive, "the helper outlived its owner"
    finally:
        if owner.poll() is None:
            owner.kill()
