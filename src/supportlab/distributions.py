"""Probability distributions of durations, as immutable specs with a vectorised inverse CDF.

Every random duration in supportlab is drawn as ``dist.ppf(u)`` from a pre-drawn uniform ``u``.
Drawing through the inverse CDF is what makes common random numbers work across arms: when a
variant changes a distribution's mean, ticket *i* keeps its uniform and only the transform changes,
so the two arms differ by the change and not by noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("fixed", "exponential", "lognormal", "gamma", "uniform", "empirical")


@dataclass(frozen=True)
class Dist:
    """A distribution of non-negative durations in seconds.

    ``kind`` is one of :data:`KINDS`; only the fields of that kind are set:
    ``fixed`` → ``value``; ``exponential`` → ``mean``; ``lognormal`` and ``gamma`` → ``mean``, ``sd``;
    ``uniform`` → ``low``, ``high``; ``empirical`` → ``values`` (sorted), with ``source`` the file it
    came from (or None when inline).
    """

    kind: str
    value: float | None = None
    mean: float | None = None
    sd: float | None = None
    low: float | None = None
    high: float | None = None
    values: tuple[float, ...] | None = None
    source: str | None = None

    def expected(self) -> float:
        """The distribution's mean."""
        if self.kind == "fixed":
            assert self.value is not None
            return self.value
        if self.kind in ("exponential", "lognormal", "gamma"):
            assert self.mean is not None
            return self.mean
        if self.kind == "uniform":
            assert self.low is not None and self.high is not None
            return (self.low + self.high) / 2
        assert self.values is not None
        return float(np.mean(self.values))

    def scaled(self, factor: float) -> Dist:
        """The same shape with every value multiplied by ``factor`` (used for patience factors)."""
        if self.kind == "fixed":
            return Dist("fixed", value=_mul(self.value, factor))
        if self.kind == "exponential":
            return Dist("exponential", mean=_mul(self.mean, factor))
        if self.kind in ("lognormal", "gamma"):
            return Dist(self.kind, mean=_mul(self.mean, factor), sd=_mul(self.sd, factor))
        if self.kind == "uniform":
            return Dist("uniform", low=_mul(self.low, factor), high=_mul(self.high, factor))
        assert self.values is not None
        return Dist("empirical", values=tuple(v * factor for v in self.values), source=self.source)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF at uniforms ``u`` in [0, 1); returns float64 seconds, same shape as ``u``."""
        u = np.asarray(u, dtype=np.float64)
        if self.kind == "fixed":
            assert self.value is not None
            return np.full(u.shape, self.value)
        if self.kind == "exponential":
            assert self.mean is not None
            return -self.mean * np.log1p(-u)
        if self.kind == "lognormal":
            assert self.mean is not None and self.sd is not None
            if self.sd == 0:
                return np.full(u.shape, self.mean)
            sigma2 = np.log1p((self.sd / self.mean) ** 2)
            mu = np.log(self.mean) - sigma2 / 2
            from scipy import special  # imported on first use, like every scipy module here

            z = special.ndtri(np.clip(u, 1e-300, 1 - 1e-16))
            return np.exp(mu + np.sqrt(sigma2) * z)
        if self.kind == "gamma":
            assert self.mean is not None and self.sd is not None
            if self.sd == 0:
                return np.full(u.shape, self.mean)
            shape = (self.mean / self.sd) ** 2
            scale = self.sd**2 / self.mean
            from scipy import stats

            return np.asarray(stats.gamma.ppf(u, shape, scale=scale), dtype=np.float64)
        if self.kind == "uniform":
            assert self.low is not None and self.high is not None
            return self.low + (self.high - self.low) * u
        assert self.values is not None
        vals = np.asarray(self.values, dtype=np.float64)
        idx = np.minimum((u * len(vals)).astype(np.int64), len(vals) - 1)
        return vals[idx]


def _mul(x: float | None, factor: float) -> float:
    assert x is not None
    return x * factor
