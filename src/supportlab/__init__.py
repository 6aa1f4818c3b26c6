"""supportlab: prototype and test customer-support workflows."""

import os

# polars allocates through jemalloc, which by default keeps freed pages for 10 s; a run frees large
# tables stage after stage (workload, legs, ...), so hand them back sooner to keep peak memory down.
# Must be set before polars is first imported; a user's own setting wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:200,muzzy_decay_ms:0")


def _return_large_arrays_to_the_os() -> None:
    """glibc: serve every allocation over 256 KiB by mmap, so numpy's freed arrays go back at once.

    By default glibc raises that threshold after the first large free and then keeps freed arrays of
    up to 32 MiB in its heap, where a run's dead intermediate tables would still count as resident.
    """
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        pass


_return_large_arrays_to_the_os()



def __getattr__(name: str) -> str:
    """``supportlab.__version__``, looked up on first use (importlib.metadata is slow to import)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("supportlab")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0+unknown"
    raise AttributeError(name)
