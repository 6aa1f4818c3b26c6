"""Explicit random streams: one ``numpy.random.Generator`` per replication × arm × channel × purpose.

Nothing in supportlab uses global random state. A stream is identified by its spawn key
``(replication, arm_key, channel, purpose)`` under the experiment's master seed, which is exactly
what ``SeedSequence(seed).spawn(...)`` would produce level by level, built directly so that any
stream can be made without making the others.

``arm_key`` is 0 for every arm when the experiment uses common random numbers (``crn = true``): all
arms of a replication then see the same customers and the same draws. With ``crn = false`` each arm
gets ``1 + its index`` and so independent streams.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Purpose(IntEnum):
    """What a stream is used for. The numbers are part of the reproducibility contract: never renumber."""

    ARRIVALS = 0
    INTENT = 1
    PERSONA = 2
    HANDLE = 3
    PATIENCE = 4
    BOT_LATENCY = 5
    CONTAIN = 6
    TRIAGE = 7
    MISROUTE = 8
    KB = 9
    KB_LATENCY = 10
    KB_FALLBACK_LATENCY = 11
    ESCALATE = 12
    HANDOFF = 13
    CONTEXT = 14
    TIER2_HANDLE = 15
    TRANSFER = 16
    CSAT = 17
    #: replay: how many times a logged ticket arrives under ``volume_scale``
    VOLUME = 18
    #: replay: arrival time of an extra copy within its hour
    JITTER = 19


def arm_key(crn: bool, arm_index: int) -> int:
    """The arm component of a spawn key: shared under CRN, distinct otherwise."""
    return 0 if crn else 1 + arm_index


def spawn_key(replication: int, arm: int, channel: int, purpose: Purpose) -> tuple[int, int, int, int]:
    return (replication, arm, channel, int(purpose))


def stream(seed: int, replication: int, arm: int, channel: int, purpose: Purpose) -> np.random.Generator:
    """A fresh generator for one purpose; drawing ``n`` values gives the first ``n`` of a fixed sequence."""
    ss = np.random.SeedSequence(seed, spawn_key=spawn_key(replication, arm, channel, purpose))
    return np.random.Generator(np.random.PCG64(ss))


def uniforms(seed: int, replication: int, arm: int, channel: int, purpose: Purpose, n: int) -> np.ndarray:
    """``n`` uniforms in [0, 1) from one stream (prefix-stable: the first k never depend on n)."""
    return stream(seed, replication, arm, channel, purpose).random(n)
