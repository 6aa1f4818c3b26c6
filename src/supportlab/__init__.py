"""supportlab: prototype and test customer-support workflows."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("supportlab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
