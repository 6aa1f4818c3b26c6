"""The one error family of supportlab.

The library raises only these; the CLI catches :class:`SupportlabError` in one place, prints
``Name: message`` to stderr and maps it to an exit code (``exit_code`` on the class).

::

    SupportlabError                 exit 2 unless stated
     ├── ConfigError                an experiment file (or an option) is invalid
     ├── BundleError                a result bundle is missing, incomplete or of an unknown format
     ├── UsageError                 a command-line option has a bad value
     └── LimitExceeded              a ``[limits]`` value stopped a run (exit 3)
"""

from __future__ import annotations


class SupportlabError(Exception):
    """Base class of every error the library raises on purpose."""

    exit_code = 2


class ConfigError(SupportlabError):
    """An experiment file is invalid.

    The message names the file, the dotted key path, the bad value and what was expected:
    ``experiments/x.toml: workload.intents[2].share: shares sum to 1.15, expected 1.0``.
    Several problems found in one pass are joined, one per line.
    """

    def __init__(self, problems: list[str] | str) -> None:
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class BundleError(SupportlabError):
    """A result bundle cannot be read or used."""


class UsageError(SupportlabError):
    """A command-line option has a bad value (named, with what was expected)."""


class LimitExceeded(SupportlabError):
    """A ``[limits]`` value was crossed; the run stopped cleanly."""

    exit_code = 3

    def __init__(self, limit: str, message: str) -> None:
        self.limit = limit
        super().__init__(message)
