"""Shared test set-up: no test ever appends to a real blueprint log."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_blueprint_log(tmp_path, monkeypatch):
    """Every test gets its own log (the CLI's default would be ./blueprint.jsonl)."""
    monkeypatch.setenv("SUPPORTLAB_LOG", str(tmp_path / "blueprint.jsonl"))
    monkeypatch.setenv("SUPPORTLAB_USER", "tester")
