"""An opt-in for the CPU: keep freed memory in the process, so that the large arrays of every
training step are not page-faulted in afresh each step.

glibc's ``malloc`` serves large requests (above its ``mmap`` threshold, 128 KiB to start) with
fresh ``mmap`` pages, and gives memory at the top of its heap back to the system once more
than ``trim`` bytes are free there. A training step allocates and frees the same large
arrays every step (activations, gradients, GEMM outputs), so the kernel zero-fills and maps
those pages again and again: on this project's 2-core machine a 2048×128×512 float32 GEMM
takes 2.2 ms writing a fresh 4 MiB output and 1.5 ms writing reused memory, and six fresh
8 MiB arrays cost 10 ms against 1.3 ms (``benchmarks/README.md``).

``keep_freed_memory()`` raises both thresholds (``mallopt``), so that freed arrays stay in
the heap and the next step reuses them. It changes the allocator of the whole process, for
every library in it, which is why minigrad never does it on its own: call it, or set
``MINIGRAD_KEEP_FREED_MEMORY=1`` before ``import minigrad``. The price: the process keeps its
high-water mark of memory instead of giving freed memory back.
"""
import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1          # glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_GLIBC_DEFAULT = 128 * 1024     # both thresholds' static defaults
_MMAP_THRESHOLD_MAX = 32 << 20  # the largest value glibc accepts on 64-bit systems
_KEEP_TRIM = 1 << 30

ENV_VAR = "MINIGRAD_KEEP_FREED_MEMORY"


def keep_freed_memory(enabled=True):
    """Keep freed host memory in this process (``enabled=True``) so that arrays up to 32 MiB
    reuse the heap instead of fresh pages, and up to 1 GiB of freed memory stays mapped;
    ``enabled=False`` puts glibc's static defaults back (128 KiB for both thresholds; glibc's
    own adaptive threshold does not come back). Whole-process and opt-in: see this module's
    docstring. Raises ``RuntimeError`` where the C library is not glibc (macOS, Windows,
    musl), whose allocators have no such setting."""
    libc = _glibc()
    if libc is None:
        raise RuntimeError("keep_freed_memory: needs glibc's malloc (Linux); this process's "
                           "C library has no mallopt thresholds")
    mmap, trim = (_MMAP_THRESHOLD_MAX, _KEEP_TRIM) if enabled else (_GLIBC_DEFAULT, _GLIBC_DEFAULT)
    if not (libc.mallopt(_M_MMAP_THRESHOLD, mmap) and libc.mallopt(_M_TRIM_THRESHOLD, trim)):
        raise RuntimeError(f"keep_freed_memory: glibc refused mallopt(mmap threshold={mmap}, "
                           f"trim threshold={trim})")


def apply_environment():
    """``keep_freed_memory()`` when ``MINIGRAD_KEEP_FREED_MEMORY=1`` (run at import)."""
    value = os.environ.get(ENV_VAR, "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"{ENV_VAR} must be 0 or 1, got {value!r}")
    if value == "1":
        keep_freed_memory()


def _glibc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version      # present in glibc only
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        return libc
    except (OSError, AttributeError):
        return None
