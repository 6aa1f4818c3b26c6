"""``supportlab diff BASE NEW``: the CI regression gate between two bundles of the same experiment.

Every arm present in both bundles is compared metric by metric (every headline metric of
``summary.json``: the catalog metrics and ``utilization.<pool>``), with the replication as the unit:

* paired t (:func:`supportlab.stats.paired`) when the two bundles drew the same random streams: same
  master seed, same replication count, same experiment file (sha256), common random numbers on in both and
  the same stream key for the arm. Replication r of BASE and of NEW then saw the same customers;
* Welch's t (:func:`supportlab.stats.welch`) otherwise (independent runs).

A metric **regresses** when it moved in its bad direction (the catalog's ``better``) by more than its
tolerance AND the move is significant (p < alpha). It **improved** when it moved the good way by more
than its tolerance, significantly; else it is **unchanged**. Load metrics (``tickets``, ``utilization``,
``utilization.<pool>``) have no bad direction a release could be blamed for (more staff or a better bot
lowers utilization on purpose): a significant move beyond the tolerance is **changed**, reported and never
failing, unless a tolerance is given for the metric explicitly. Metrics without a value for every
replication of both bundles (None/NaN), with fewer than 2 replications, missing from one bundle or
unknown to the catalog are **not compared**: reported, never failing.

Tolerances, most specific first: ``--tolerance METRIC=PCT%|METRIC=VALUE`` on the command line, then the
``[diff]`` table of NEW's experiment file (``"wait.p95" = "10%"``, ``abandon_rate = 0.01``), then the
global default (5 %, relative). A relative tolerance is a share of BASE's mean.

What makes a diff less trustworthy is flagged in ``warnings`` (and is an error with ``strict=True``):
different experiment files, different supportlab versions, different seeds or replication counts, arms
that are in only one bundle.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from supportlab import stats
from supportlab.bundle import Bundle, json_safe, read_bundle
from supportlab.catalog import METRICS, MetricInfo, metric_info
from supportlab.compare import bundle_experiment, fmt_change, fmt_ci, fmt_p, fmt_value, replication_values
from supportlab.errors import BundleError, UsageError

__all__ = [
    "STATUSES",
    "Tolerance",
    "parse_tolerance",
    "MetricDiff",
    "Diff",
    "diff_bundles",
    "to_markdown",
    "to_junit",
]

#: row statuses, worst first
STATUSES = ("regressed", "improved", "changed", "unchanged", "not compared")

DEFAULT_TOLERANCE = 0.05


# --- tolerances ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tolerance:
    metric: str
    value: float
    relative: bool

    def text(self) -> str:
        """``"10%"`` (relative) or ``"0.01"`` (absolute, in the metric's unit)."""
        if self.relative:
            return f"{self.value * 100:.6g}%"
        return f"{self.value:.6g}"


def _known_metric(name: str) -> bool:
    if name in METRICS:
        return True
    prefix, _, pool = name.partition(".")
    return prefix == "utilization" and bool(pool.strip())


def parse_tolerance(text: str, *, where: str = "--tolerance") -> Tolerance:
    """``"wait.p95=10%"`` -> relative 0.10; ``"abandon_rate=0.01"`` -> absolute 0.01 (metric unit).

    The metric must be a catalog metric or ``utilization.<pool>``; the number finite and >= 0.
    """
    bad = UsageError(f"{where}: {text!r} is not METRIC=PCT% or METRIC=VALUE, expected e.g. wait.p95=10%")
    metric, sep, number = str(text).partition("=")
    metric, number = metric.strip(), number.strip()
    if not sep or not _known_metric(metric):
        raise bad
    relative = number.endswith("%")
    if relative:
        number = number[:-1].strip()
    try:
        value = float(number)
    except ValueError:
        raise bad from None
    if not math.isfinite(value) or value < 0:
        raise bad
    return Tolerance(metric, value / 100 if relative else value, relative)


def _table_tolerances(raw: Any, where: str) -> dict[str, Tolerance]:
    """The ``[diff]`` table of an experiment file: ``{metric: "10%" | number}``."""
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, Tolerance] = {}
    for metric, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise UsageError(
                f"{where}: {metric} = {value!r} is not a tolerance, expected a percentage string such as "
                '"10%" or a number'
            )
        tol = parse_tolerance(f"{metric}={value}", where=where)
        out[tol.metric] = tol
    return out


# --- results ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricDiff:
    arm: str
    metric: str
    base: float | None  # BASE's mean over replications
    new: float | None  # NEW's mean over replications
    diff: float | None  # new - base
    rel_diff: float | None  # diff / |base|; None when base is 0
    ci: list[float] | None  # CI of rel_diff (of diff when rel_diff is None), level 1 - alpha
    p_value: float | None
    test: str  # "paired-t" | "welch-t" | "identical" | "none" (not compared)
    tolerance: str  # "5%" or "0.01"
    #: "regressed" | "improved" | "unchanged" (not significant, or within tolerance) | "not compared" | "changed"
    #: (a load metric, see LOAD_METRICS, moved significantly beyond its tolerance: reported, never fails)
    status: str


@dataclass(frozen=True)
class Diff:
    experiment: str
    base: str
    new: str
    base_run_id: str
    new_run_id: str
    paired: bool
    warnings: list[str]
    rows: list[MetricDiff]

    @property
    def regressions(self) -> list[MetricDiff]:
        return [r for r in self.rows if r.status == "regressed"]

    def counts(self) -> dict[str, int]:
        """How many rows have each status."""
        return {s: sum(1 for r in self.rows if r.status == s) for s in STATUSES}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "experiment": self.experiment,
            "base": self.base,
            "new": self.new,
            "base_run_id": self.base_run_id,
            "new_run_id": self.new_run_id,
            "paired": self.paired,
            "test": "paired-t" if self.paired else "welch-t",
            "passed": not self.regressions,
            "counts": self.counts(),
            "regressions": [{"arm": r.arm, "metric": r.metric} for r in self.regressions],
            "warnings": list(self.warnings),
            "rows": [asdict(r) for r in self.rows],
        }
        return json_safe(out)  # type: ignore[no-any-return]


# --- the comparison --------------------------------------------------------------------------------------
def _short(sha: object) -> str:
    return f"{str(sha)[:8]}…" if sha else "unknown"


def _seeds(b: Bundle) -> dict[str, Any]:
    s = b.manifest.get("seeds")
    return s if isinstance(s, dict) else {}


def _replications(b: Bundle) -> Any:
    return _seeds(b).get("replications", b.manifest.get("replications"))


def _sha(b: Bundle) -> Any:
    exp = b.manifest.get("experiment")
    return exp.get("sha256") if isinstance(exp, dict) else None


def _version(b: Bundle) -> Any:
    v = b.manifest.get("versions")
    return v.get("supportlab") if isinstance(v, dict) else None


def _arms(b: Bundle) -> list[str]:
    arms = b.summary.get("arms")
    return list(arms) if isinstance(arms, dict) else []


def _arm_metrics(b: Bundle, arm: str) -> Any:
    return b.summary.get("arms", {}).get(arm, {}).get("metrics")


def _metric_names(b: Bundle, arm: str) -> list[str]:
    m = b.summary.get("arms", {}).get(arm, {}).get("metrics")
    return list(m) if isinstance(m, dict) else []


def _mean(summary: dict[str, Any], arm: str, metric: str) -> float | None:
    m = summary.get("arms", {}).get(arm, {}).get("metrics", {}).get(metric)
    v = m.get("mean") if isinstance(m, dict) else None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def _same_streams(b: Bundle, n: Bundle) -> bool:
    """The bundles drew the same random streams: replication r of BASE and of NEW are a pair."""
    sb, sn = _seeds(b), _seeds(n)
    return (
        sb.get("master") is not None
        and sb.get("master") == sn.get("master")
        and _replications(b) is not None
        and _replications(b) == _replications(n)
        and _sha(b) is not None
        and _sha(b) == _sha(n)
        and sb.get("crn") is True
        and sn.get("crn") is True
    )


def _arm_paired(b: Bundle, n: Bundle, arm: str) -> bool:
    kb, kn = _seeds(b).get("arm_keys"), _seeds(n).get("arm_keys")
    if not isinstance(kb, dict) or not isinstance(kn, dict):
        return False
    return kb.get(arm) is not None and kb.get(arm) == kn.get(arm)


def _warnings(b: Bundle, n: Bundle) -> list[str]:
    out: list[str] = []
    if _sha(b) != _sha(n):
        out.append(f"the experiment files differ (sha256 {_short(_sha(b))} vs {_short(_sha(n))})")
    if _version(b) != _version(n):
        out.append(f"different supportlab versions ({_version(b) or 'unknown'} vs {_version(n) or 'unknown'})")
    mb, mn = _seeds(b).get("master"), _seeds(n).get("master")
    if mb != mn:
        out.append(f"different seeds ({mb} vs {mn}): compared with Welch's t, not paired")
    rb, rn = _replications(b), _replications(n)
    if rb != rn:
        out.append(f"different replication counts ({rb} vs {rn})")
    arms_b, arms_n = _arms(b), _arms(n)
    if OBSERVED in arms_b and OBSERVED in arms_n and _arm_metrics(b, OBSERVED) != _arm_metrics(n, OBSERVED):
        out.append("the replayed logs differ (the observed arms are not the same)")
    for arm in arms_b:
        if arm not in arms_n:
            out.append(f"arm {arm!r} is only in BASE: not compared")
    for arm in arms_n:
        if arm not in arms_b:
            out.append(f"arm {arm!r} is only in NEW: not compared")
    return out


#: load metrics: how busy the operation is, not how well it serves. Their good direction depends on the change
#: (more staff or a better bot lowers utilization on purpose), so a significant move beyond the tolerance is
#: reported as "changed" and never fails, unless a tolerance for the metric is given explicitly (``--tolerance``
#: or the ``[diff]`` table): then it is gated in the catalog's direction like any other metric.
LOAD_METRICS = ("tickets", "utilization")
#: the replayed log's own arm (see supportlab.observed)
OBSERVED = "observed"


def _is_load(metric: str) -> bool:
    return metric in LOAD_METRICS or metric.startswith("utilization.")


def _worse(diff: float, better: str) -> bool:
    return diff > 0 if better == "lower" else diff < 0


def _compare(
    arm: str,
    metric: str,
    info: MetricInfo | None,
    base: Bundle,
    new: Bundle,
    tol: Tolerance,
    paired: bool,
    alpha: float,
    gated: bool,
) -> MetricDiff:
    bm, nm = _mean(base.summary, arm, metric), _mean(new.summary, arm, metric)
    bv, nv = replication_values(base.summary, arm, metric), replication_values(new.summary, arm, metric)
    if info is None or bv is None or nv is None or len(bv) < 2 or len(nv) < 2:
        d = None if bm is None or nm is None else nm - bm
        rel = None if d is None or bm is None or bm == 0 else d / abs(bm)
        return MetricDiff(arm, metric, bm, nm, d, rel, None, None, "none", tol.text(), "not compared")
    if paired and len(bv) == len(nv):
        eff = stats.paired(bv, nv, alpha=alpha)
    else:
        eff = stats.welch(bv, nv, alpha=alpha)
    allowed = tol.value * abs(eff.control) if tol.relative else tol.value
    beyond = abs(eff.diff) > allowed
    significant = eff.p_value < alpha
    if not (significant and beyond and eff.diff != 0):
        status = "unchanged"
    elif _is_load(metric) and not gated:
        status = "changed"
    else:
        status = "regressed" if _worse(eff.diff, info.better) else "improved"
    return MetricDiff(
        arm=arm,
        metric=metric,
        base=eff.control,
        new=eff.variant,
        diff=eff.diff,
        rel_diff=eff.rel_diff,
        ci=list(eff.ci) if eff.ci is not None else None,
        p_value=eff.p_value,
        test=eff.test,
        tolerance=tol.text(),
        status=status,
    )


def diff_bundles(
    base: Path,
    new: Path,
    *,
    tolerances: Sequence[Tolerance] = (),
    default: float = DEFAULT_TOLERANCE,
    alpha: float = 0.05,
    strict: bool = False,
) -> Diff:
    """Compare NEW against BASE (two complete bundles of the same experiment), arm by arm, metric by metric.

    Raises :class:`BundleError` when a bundle is missing, aborted or of an unknown format, or the two are
    runs of different experiments; :class:`UsageError` for a bad ``[diff]`` table in NEW, or, with
    ``strict``, when the diff has warnings (different files, versions, seeds, replication counts, arms).
    """
    if not 0 < alpha < 1:
        raise UsageError(f"alpha: {alpha} is not a significance level, expected a number in (0, 1)")
    if not math.isfinite(default) or default < 0:
        raise UsageError(f"default tolerance: {default} is not a tolerance, expected a number >= 0")
    b = read_bundle(Path(base), require_complete=True)
    n = read_bundle(Path(new), require_complete=True)
    if b.experiment_name != n.experiment_name:
        raise BundleError(
            f"BASE is experiment {b.experiment_name!r}, NEW is {n.experiment_name!r}: "
            "diff compares two runs of the same experiment"
        )
    exp_b, exp_n = bundle_experiment(b.path), bundle_experiment(n.path)
    # tolerances: CLI > NEW's [diff] table > default
    tol_of: dict[str, Tolerance] = _table_tolerances(exp_n.raw.get("diff"), f"{n.path / 'experiment.toml'}: [diff]")
    for t in tolerances:
        tol_of[t.metric] = t

    same = _same_streams(b, n)
    warnings = _warnings(b, n)
    if strict and warnings:
        raise UsageError("--strict: BASE and NEW are not comparable like for like: " + "; ".join(warnings))
    pools = tuple(dict.fromkeys(p.name for e in (exp_b, exp_n) for a in e.arms for p in a.scenario.system.pools))
    rows: list[MetricDiff] = []
    arm_paired: list[bool] = []
    # the observed arm of a replay is the log, not a result of the release: never gated (a changed log is a warning)
    for arm in [a for a in _arms(n) if a in _arms(b) and a != OBSERVED]:
        paired = same and _arm_paired(b, n, arm)
        arm_paired.append(paired)
        names = list(dict.fromkeys([*_metric_names(n, arm), *_metric_names(b, arm)]))
        for metric in names:
            explicit = tol_of.get(metric)
            tol = explicit or Tolerance(metric, default, True)
            rows.append(
                _compare(arm, metric, metric_info(metric, pools), b, n, tol, paired, alpha, explicit is not None)
            )
    return Diff(
        experiment=n.experiment_name,
        base=str(base),
        new=str(new),
        base_run_id=b.run_id,
        new_run_id=n.run_id,
        paired=bool(arm_paired) and all(arm_paired),
        warnings=warnings,
        rows=rows,
    )


# --- rendering -------------------------------------------------------------------------------------------
def _verdict(d: Diff) -> str:
    n = len(d.regressions)
    return f"{n} regression{'s' if n != 1 else ''}" if n else "no regression"


def _describe(r: MetricDiff) -> str:
    p = "" if r.p_value is None else f", p = {fmt_p(r.p_value)}"
    return (f"{r.metric} ({r.arm}) {r.status}: {fmt_value(r.base)} -> {fmt_value(r.new)} ({fmt_change(r)}){p}, "
            f"tolerance {r.tolerance}")  # fmt: skip


def to_markdown(d: Diff, *, only_changed: bool = False) -> str:
    """A CI step summary / pull-request comment: verdict, warnings, regressions, then the table."""
    how = "paired t (same seeds and workload)" if d.paired else "Welch's t (independent runs)"
    mark = "❌" if d.regressions else "✅"
    lines = [
        f"# {mark} supportlab diff `{d.experiment}`: {_verdict(d)}",
        "",
        f"Base `{d.base_run_id}` → new `{d.new_run_id}`, replications as the unit, {how}.",
    ]
    if d.warnings:
        lines += ["", "**Warnings** (the comparison is not like for like):", ""]
        lines += [f"- ⚠️ {w}" for w in d.warnings]
    if d.regressions:
        lines += ["", "**Regressions:**", ""]
        lines += [f"- `{r.arm}` · `{r.metric}`: {fmt_value(r.base)} → {fmt_value(r.new)} ({fmt_change(r)}), "
                  f"p = {fmt_p(r.p_value)}, beyond the tolerance {r.tolerance}" for r in d.regressions]  # fmt: skip
    shown = [r for r in d.rows if not only_changed or r.status not in ("unchanged", "not compared")]
    lines += ["", "| arm | metric | base | new | change | CI of change | p | tolerance | test | status |",
              "|---|---|---:|---:|---:|---|---:|---:|---|---|"]  # fmt: skip
    for r in shown:
        status = f"**{r.status}**" if r.status == "regressed" else r.status
        lines.append(
            f"| `{r.arm}` | `{r.metric}` | {fmt_value(r.base)} | {fmt_value(r.new)} | {fmt_change(r)} | {fmt_ci(r)} | "
            f"{fmt_p(r.p_value)} | {r.tolerance} | {r.test} | {status} |"
        )
    hidden = len(d.rows) - len(shown)
    if hidden:
        lines += ["", f"{hidden} unchanged or not compared metric{'s' if hidden != 1 else ''} not shown."]
    return "\n".join(lines) + "\n"


def to_junit(d: Diff) -> str:
    """JUnit XML: one testcase per arm × metric, a ``<failure>`` per regression, ``<skipped>`` when not compared."""
    counts = d.counts()
    attrs = {
        "tests": str(len(d.rows)),
        "failures": str(counts["regressed"]),
        "errors": "0",
        "skipped": str(counts["not compared"]),
    }
    root = ET.Element("testsuites", {"name": "supportlab diff", **attrs})
    suite = ET.SubElement(root, "testsuite", {"name": f"supportlab diff {d.experiment}", **attrs})
    props = ET.SubElement(suite, "properties")
    for name, value in (("base", d.base), ("new", d.new), ("base_run_id", d.base_run_id),
                        ("new_run_id", d.new_run_id), ("test", "paired-t" if d.paired else "welch-t")):  # fmt: skip
        ET.SubElement(props, "property", {"name": name, "value": value})
    for w in d.warnings:
        ET.SubElement(props, "property", {"name": "warning", "value": w})
    for r in d.rows:
        case = ET.SubElement(suite, "testcase", {"classname": f"{d.experiment}.{r.arm}", "name": r.metric})
        if r.status == "regressed":
            fail = ET.SubElement(
                case, "failure",
                {"message": f"{r.metric} regressed: {fmt_change(r)} beyond the tolerance {r.tolerance}",
                 "type": "regression"},
            )  # fmt: skip
            fail.text = f"{_describe(r)}, CI of change {fmt_ci(r)}, {r.test}"
        elif r.status == "not compared":
            ET.SubElement(case, "skipped", {"message": "not compared: no value for every replication of both runs"})
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _describe(r)
    if d.warnings:
        err = ET.SubElement(suite, "system-err")
        err.text = "\n".join(f"warning: {w}" for w in d.warnings)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
