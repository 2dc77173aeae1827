"""``minigrad.keep_freed_memory``: the opt-in that keeps freed host memory in the process
(glibc only). Each check runs in a fresh interpreter: the setting is process-wide."""
import os
import subprocess
import sys

import pytest

from minigrad.backends.host_memory import _glibc

needs_glibc = pytest.mark.skipif(_glibc() is None, reason="keep_freed_memory needs glibc")

_COUNT_PAGE_FAULTS = """
import resource, numpy, minigrad
def step():     # like a training step: six 8 MiB arrays alive at once, then all freed
    arrays = [numpy.ones(1 << 21, numpy.float32) for _ in range(6)]
    del arrays
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(env_value):
    env = dict(os.environ)
    env.pop("MINIGRAD_KEEP_FREED_MEMORY", None)
    if env_value is not None:
        env["MINIGRAD_KEEP_FREED_MEMORY"] = env_value
    out = subprocess.run([sys.executable, "-c", _COUNT_PAGE_FAULTS], env=env,
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


@needs_glibc
def test_keeping_freed_memory_stops_the_page_faults_of_reallocated_arrays():
    """By default glibc gives the freed arrays back to the system at the end of each "step"
    and the next step faults them in again (up to 6 · 2048 faults of 4 KiB per step); with
    MINIGRAD_KEEP_FREED_MEMORY=1 the memory stays and is reused."""
    default, kept = _page_faults(None), _page_faults("1")
    print(f"page faults over 10 steps: {default} by default, {kept} with the memory kept")
    assert default >= 10 * 2048, default
    assert kept < 1000, kept


@needs_glibc
def test_the_setting_can_be_switched_on_and_back_in_a_process():
    code = ("import minigrad; minigrad.keep_freed_memory(); minigrad.keep_freed_memory(False); "
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_a_bad_environment_value_is_refused_by_name():
    env = dict(os.environ, MINIGRAD_KEEP_FREED_MEMORY="yes")
    out = subprocess.run([sys.executable, "-c", "import minigrad"], env=env,
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "MINIGRAD_KEEP_FREED_MEMORY must be 0 or 1" in out.stderr
