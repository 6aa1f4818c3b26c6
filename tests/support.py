"""Helpers shared by the test modules: the CLI in-process, and an experiment file's problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportlab.cli import main
from supportlab.errors import ConfigError
from supportlab.experiment import load_experiment


def cli(capsys, *args: object) -> tuple[int, str, str]:
    """Run ``supportlab ARGS`` in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return int(exc.value.code or 0), captured.out, captured.err


def write(tmp_path: Path, text: str, name: str = "x.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    """The problems of a file, without the ``<path>: `` prefix every line must start with."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    prefix = f"{path}: "
    assert all(p.startswith(prefix) for p in info.value.problems), info.value.problems
    assert str(info.value) == "\n".join(info.value.problems)
    return [p[len(prefix):] for p in info.value.problems]
