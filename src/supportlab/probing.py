"""``supportlab probe``: scheduled re-probes of an experiment against its own history.

Each probe runs an experiment file with a FRESH seed (recorded), appends one ``probe`` entry to the
blueprint log and judges the control arm's headline metrics (:data:`HEADLINE` plus the objective
metric) against the earlier probes of the same experiment — same name AND same file sha256, so an
edited file starts a new history — whose run completed: the last ``window`` values of each metric.

Per metric (:func:`check_history`, pure):

* ``no value`` — the new run has no value for the metric (e.g. undefined).
* ``learning`` — fewer than :data:`MIN_HISTORY` (5) earlier values: nothing is judged, never an alert.
* ``anomaly`` — the new value lies outside ``median ± k·σ·g(n)`` of the n history values, where ``σ`` is
  the robust scale (below), ``k`` is ``threshold`` (default 4) and ``g(n) = t(0.975, n-1) / z(0.975) ·
  √(1 + 1/n)`` widens the bounds for a short history (1.55 at n = 5, 1.21 at 10, 1.09 at 20, → 1).
* ``drift`` — the value is inside the bounds but a CUSUM says the recent probes have moved away
  from the history (below).
* ``ok`` — none of these.

Robust scale. ``σ = max(1.4826·MAD, 1.2533·meanAD)``: the MAD and the mean absolute deviation from
the median, each scaled to a normal SD. The MAD alone, the textbook choice, is too noisy on the 5–20
values a probe history holds: on normal noise, ``median ± 4·1.4826·MAD`` of 5 values misses the next
value 9.7% of the time (2.1% at 10, 0.5% at 20), and a probe checks 6–7 metrics, so a stable system
would alert on most nights. Taking the larger of two robust estimates and the small-sample factor
``g(n)`` brings that to 0.65% per metric at 5 values, 0.18% at 10 and 0.05% at 20 (simulated, 400,000
histories each); a 6σ jump is still flagged 56% of the time at 5 values and 87% at 20, and a sustained
smaller shift is the CUSUM's job. When more than half of the history is identical the MAD is 0 and
meanAD carries the scale, so a history like ``0, 0, 0, 0, 0, 0.001, 0.002`` still tolerates values of
that size. When the whole history is identical (meanAD = 0 too), ``σ`` is the floor
``1e-9·max(1, |median|)``: the same value again is ``ok`` (float noise included), any real move is an
anomaly. Nothing ever divides by zero.

Drift method: a two-sided tabular CUSUM (Page 1954) with reference value ``k = 0.5`` and decision
interval ``h = 5`` (in units of σ), run over the history followed by the new value, each standardised
as ``z = (x - median) / σ`` with the history's median and robust σ. The upper sum is
``S⁺ᵢ = max(0, S⁺ᵢ₋₁ + zᵢ - k)`` and the lower one ``S⁻ᵢ = max(0, S⁻ᵢ₋₁ - zᵢ - k)``. It alarms only when
the alarm involves the newest point: the newest sum exceeds ``h`` AND the newest value pushed it up
(``z > k`` for an upward drift, ``z < -k`` downward). So an excursion that lies wholly in the past and
is decaying does not alarm again on a normal new value, while a shift that persists keeps alarming
on every probe until it makes up most of the window (then it is the new normal).

The drift test needs at least :data:`DRIFT_MIN_HISTORY` (10) earlier values: with 5–9 the robust σ
is too noisy for a sum of standardised values (on normal noise the CUSUM alone alarmed on 12% of
probes with 5 earlier values, 4% with 10, 2% with 20).

Why CUSUM rather than EWMA: drift detection is there for a small, *sustained* shift (1–2σ) that
single-value bounds at 4σ cannot see — a slowly growing backlog, a creeping handle time. The tabular
CUSUM accumulates exactly the evidence for such a step and forgets noise at rate k per probe; on
simulated normal histories of 20 it caught a 1.5σ step within 10 probes in 51% of cases against 45%
for an EWMA (λ = 0.2, L = 3) with the same newest-point rule, for a false-alarm rate per metric and
probe of 2.1% against 1.3%. Both rates are per metric: a probe checks 6–7 metrics, so expect an
occasional false drift alert on a stable system. Standardising with the median and MAD (not the mean
and SD) keeps one outlier in the history from hiding a drift or inflating every later z. Note that
the window adapts: a shift that has not been flagged once it fills most of the window becomes the
new normal.

This module is a library: it prints nothing; bad option values raise
:class:`~supportlab.errors.UsageError` naming the option.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from supportlab import api, blueprint, catalog
from supportlab import metrics as metrics_mod
from supportlab.bundle import json_safe
from supportlab.errors import UsageError

#: the control-arm metrics every probe checks (the objective metric is added when it is not one of them)
HEADLINE = catalog.HEADLINE

#: fewer earlier values than this: status "learning", never an alert
MIN_HISTORY = 5
#: a normal distribution's SD is 1.4826 × its MAD
MAD_TO_SD = 1.4826
#: a normal distribution's SD is 1.2533 × its mean absolute deviation
MEANAD_TO_SD = 1.2533
#: relative floor of the robust scale when the whole history is identical
SCALE_FLOOR = 1e-9
#: CUSUM reference value and decision interval, in units of the robust σ
CUSUM_K = 0.5
CUSUM_H = 5.0
#: fewer earlier values than this: no drift test (the anomaly bounds still apply)
DRIFT_MIN_HISTORY = 10

STATUSES = ("ok", "anomaly", "drift", "learning", "no value")


@dataclass(frozen=True)
class MetricCheck:
    metric: str
    value: float | None
    #: median and bounds of the history (None while learning or without history)
    median: float | None
    low: float | None
    high: float | None
    #: number of earlier values compared with
    history: int
    #: "ok" | "anomaly" | "drift" | "learning" | "no value"
    status: str


@dataclass(frozen=True)
class ProbeResult:
    experiment: str
    file: str
    bundle: str
    seed: int
    log_seq: int
    checks: list[MetricCheck]
    #: as :func:`supportlab.metrics.check_expectations` returns
    expectations: list[dict[str, Any]]
    warnings: list[str]
    #: the run's status: "complete", or "aborted" when a ``[limits]`` value stopped it
    status: str = "complete"
    #: the limit's message when the run was aborted
    limit_message: str | None = None

    @property
    def alerts(self) -> list[str]:
        """One human line per problem: aborted run, anomalies, drifts, breached expectations."""
        out: list[str] = []
        if self.status != "complete":
            out.append(f"run {self.status}" + (f": {self.limit_message}" if self.limit_message else ""))
        for c in self.checks:
            if c.status == "anomaly":
                out.append(f"{c.metric} {_fmt(c.value)} is outside [{_fmt(c.low)}, {_fmt(c.high)}] (anomaly)")
            elif c.status == "drift":
                way = "up" if c.value is not None and c.median is not None and c.value > c.median else "down"
                out.append(f"{c.metric} drifts {way} (CUSUM)")
        for e in self.expectations:
            if not e.get("met"):
                out.append(f"expectation {_expect_text(e)} not met: {_fmt(e.get('value'))}")
        return out

    def to_json(self) -> dict[str, Any]:
        return json_safe(
            {
                "experiment": self.experiment,
                "file": self.file,
                "bundle": self.bundle,
                "seed": self.seed,
                "log_seq": self.log_seq,
                "status": self.status,
                "checks": [asdict(c) for c in self.checks],
                "expectations": self.expectations,
                "warnings": self.warnings,
                "alerts": self.alerts,
            }
        )


@dataclass(frozen=True)
class ProbeReport:
    results: list[ProbeResult] = field(default_factory=list)

    @property
    def alerting(self) -> bool:
        return any(r.alerts for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"alerting": self.alerting, "results": [r.to_json() for r in self.results]}


def _fmt(x: Any) -> str:
    if x is None or isinstance(x, bool) or not isinstance(x, (int, float)):
        return "no value"
    return f"{x:.4g}"


def _expect_text(e: Mapping[str, Any]) -> str:
    metric = e.get("metric")
    arm = e.get("arm", "control")
    name = metric if arm == "control" else f"{metric} ({arm})"
    if e.get("within") is not None:
        return f"{name} within {e['within']:.0%} of {e.get('of')} ({_fmt(e.get('reference'))})"
    lo, hi = e.get("min"), e.get("max")
    if lo is not None and hi is not None:
        return f"{name} in [{_fmt(lo)}, {_fmt(hi)}]"
    if lo is not None:
        return f"{name} >= {_fmt(lo)}"
    return f"{name} <= {_fmt(hi)}"


# --------------------------------------------------------------------------------------------------
# the statistics (pure)


def fresh_seed() -> int:
    """A seed from the OS's entropy: 0 <= seed < 2**32."""
    return secrets.randbits(32)


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0


def robust_scale(values: Sequence[float]) -> tuple[float, float]:
    """``(median, σ)`` of ``values``: σ = max(1.4826·MAD, 1.2533·meanAD), at least the floor (module docstring)."""
    med = _median(values)
    deviations = [abs(x - med) for x in values]
    scale = max(MAD_TO_SD * _median(deviations), MEANAD_TO_SD * sum(deviations) / len(deviations))
    floor = SCALE_FLOOR * max(1.0, abs(med))
    return med, max(scale, floor)


def small_sample_factor(n: int) -> float:
    """``g(n) = t(0.975, n-1) / z(0.975) · √(1 + 1/n)``: how much wider a prediction from n values must be."""
    from scipy import stats  # imported on first use

    return float(stats.t.ppf(0.975, n - 1) / stats.norm.ppf(0.975) * math.sqrt(1.0 + 1.0 / n))


def cusum_drift(values: Sequence[float], median: float, scale: float) -> str | None:
    """``"up"`` or ``"down"`` when the two-sided tabular CUSUM (k = 0.5, h = 5) of ``values`` standardised by
    ``median`` and ``scale`` alarms at the last value and the last value pushed it; else None."""
    hi = lo = 0.0
    z = 0.0
    for x in values:
        z = (x - median) / scale
        hi = max(0.0, hi + z - CUSUM_K)
        lo = max(0.0, lo - z - CUSUM_K)
    if hi > CUSUM_H and z > CUSUM_K:
        return "up"
    if lo > CUSUM_H and z < -CUSUM_K:
        return "down"
    return None


def _number(x: Any) -> float | None:
    if x is None or isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def check_history(
    values: Sequence[float], new: float | None, *, threshold: float = 4.0
) -> tuple[str, float | None, float | None, float | None]:
    """``(status, median, low, high)`` for a history (oldest first) and the new value.

    Non-finite and missing history values are ignored. ``median``/``low``/``high`` are None while
    learning (fewer than 5 values); ``low``/``high`` = median ∓ threshold·σ·g(n). See the module docstring.
    """
    if not threshold > 0 or not math.isfinite(threshold):
        raise ValueError(f"threshold must be a positive number, got {threshold!r}")
    history = [f for f in (_number(v) for v in values) if f is not None]
    value = _number(new)
    if len(history) < MIN_HISTORY:
        return ("no value" if value is None else "learning"), None, None, None
    med, scale = robust_scale(history)
    half = threshold * scale * small_sample_factor(len(history))
    low, high = med - half, med + half
    if value is None:
        return "no value", med, low, high
    if not low <= value <= high:
        return "anomaly", med, low, high
    if len(history) >= DRIFT_MIN_HISTORY and cusum_drift([*history, value], med, scale) is not None:
        return "drift", med, low, high
    return "ok", med, low, high


# --------------------------------------------------------------------------------------------------
# probing


def _metric_names(exp: Any) -> list[str]:
    names = list(HEADLINE)
    if exp.objective is not None and exp.objective.metric not in names:
        names.append(exp.objective.metric)
    return names


def _control_means(summary: Mapping[str, Any], arm: str, names: Sequence[str]) -> dict[str, float | None]:
    arm_metrics = ((summary.get("arms") or {}).get(arm) or {}).get("metrics") or {}
    out: dict[str, float | None] = {}
    for m in names:
        stat = arm_metrics.get(m)
        out[m] = _number(stat.get("mean")) if isinstance(stat, Mapping) else None
    return out


def _history(entries: Sequence[blueprint.Entry], name: str, sha: str) -> tuple[list[dict[str, Any]], int]:
    """The ``metrics`` of the earlier complete probes of this experiment file (oldest first), and the
    number of probes of the same experiment name made with another version of the file."""
    same: list[dict[str, Any]] = []
    other = 0
    for e in entries:
        if e.kind != "probe" or e.experiment != name:
            continue
        if e.data.get("file_sha256") != sha:
            other += 1
            continue
        metrics = e.data.get("metrics")
        if e.data.get("status", "complete") == "complete" and isinstance(metrics, dict):
            same.append(metrics)
    return same, other


def probe(
    files: Sequence[Path],
    *,
    out: Path,
    log: Path,
    window: int = 20,
    threshold: float = 4.0,
    seeds: Sequence[int] | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ProbeReport:
    """Probe each file in turn: run it with a fresh seed (or ``seeds[i]``), judge the control arm's
    headline metrics against the last ``window`` values of the earlier probes of the same file, check
    its ``[expect]`` ranges, and append one ``probe`` entry to ``log`` (see the module docstring)."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise UsageError(f"--window: {window!r} is not a positive number of probes, expected an integer >= 1")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not (math.isfinite(threshold) and threshold > 0)
    ):
        raise UsageError(f"--threshold: {threshold!r} is not a positive number, expected a number > 0 (e.g. 4)")
    if seeds is not None and len(seeds) != len(files):
        raise ValueError(f"seeds: {len(seeds)} given for {len(files)} file(s), expected one per file")
    results: list[ProbeResult] = []
    for i, file in enumerate(files):
        seed = int(seeds[i]) if seeds is not None else fresh_seed()
        run = api.run(Path(file), out=out, seed=seed, workers=workers, log=None, progress=progress)
        exp = run.experiment
        names = _metric_names(exp)
        values = _control_means(run.summary, exp.control.name, names)
        earlier, other_versions = _history(blueprint.read(log), exp.name, exp.sha256)
        checks: list[MetricCheck] = []
        for m in names:
            past = [v for v in (_number(h.get(m)) for h in earlier) if v is not None][-window:]
            status, med, low, high = check_history(past, values[m], threshold=float(threshold))
            checks.append(MetricCheck(m, values[m], med, low, high, len(past), status))
        expectations = metrics_mod.check_expectations(run.summary.get("arms") or {}, exp.expectations)
        warnings: list[str] = []
        if not earlier and other_versions:
            warnings.append(
                f"{file}: {other_versions} earlier probe(s) of {exp.name} ran another version of the file "
                "(different sha256) and are not compared; a new history starts"
            )
        partial = ProbeResult(
            experiment=exp.name,
            file=str(file),
            bundle=str(run.bundle),
            seed=seed,
            log_seq=0,
            checks=checks,
            expectations=expectations,
            warnings=warnings,
            status=run.status,
            limit_message=run.limit_message,
        )
        data = {
            "bundle": str(run.bundle),
            "file": str(file),
            "file_sha256": exp.sha256,
            "seed": seed,
            "status": run.status,
            "metrics": values,
            "checks": [asdict(c) for c in checks],
            "alerts": partial.alerts,
        }
        rec = blueprint.append(log, "probe", exp.name, run.bundle.name, data)
        results.append(replace(partial, log_seq=rec.entry.seq, warnings=[*warnings, *rec.warnings]))
    return ProbeReport(results)
