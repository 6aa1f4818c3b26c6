"""Run every arm × replication of an experiment, in worker processes, within its ``[limits]``.

Results are assembled in (arm, replication) order whatever the number of workers, so the tables
are byte-identical for any ``workers``. The library never prints: progress goes to a callback.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass

import polars as pl

from supportlab import metrics as metrics_mod
from supportlab import observed
from supportlab.engine import simulate
from supportlab.errors import LimitExceeded, UsageError
from supportlab.model import Experiment, Scenario
from supportlab.replay_workload import LOG_INDEX, extra_segments, replayed_columns
from supportlab.seeds import arm_key
from supportlab.trace import events as make_events
from supportlab.vocab import Vocabulary
from supportlab.workload import StreamId, generate

Progress = Callable[[int, int], None]
"""``progress(done, total)`` after each arm × replication."""


@dataclass(frozen=True)
class Task:
    arm_index: int
    replication: int


@dataclass
class TaskResult:
    task: Task
    tickets: pl.DataFrame
    events: pl.DataFrame
    metrics: pl.DataFrame


@dataclass
class RunOutput:
    tickets: pl.DataFrame
    events: pl.DataFrame
    metrics: pl.DataFrame
    status: str  # "complete" | "aborted"
    limit: str | None
    limit_message: str | None
    seeds: dict[str, object]
    tasks_done: int
    tasks_total: int


def default_workers() -> int:
    return os.cpu_count() or 1


def seeds_of(exp: Experiment) -> dict[str, object]:
    """The resolved seeds recorded in the manifest: enough to rebuild every stream."""
    return {
        "master": exp.seed,
        "crn": exp.crn,
        "replications": exp.replications,
        "stream": "SeedSequence(master, spawn_key=(replication, arm_key, channel, purpose))",
        "arm_keys": {a.name: arm_key(exp.crn, i) for i, a in enumerate(exp.arms)},
    }


def run_task(exp: Experiment, task: Task, deadline: float | None) -> TaskResult:
    """One arm × replication: workload → simulation → events → metrics."""
    arm = exp.arms[task.arm_index]
    sid = StreamId(exp.seed, task.replication, arm_key(exp.crn, task.arm_index))
    wl = generate(arm.scenario, sid, horizon=exp.horizon, tickets=exp.tickets)
    limits = exp.limits
    if limits.max_tickets is not None and wl.height > limits.max_tickets:
        raise LimitExceeded(
            "max_tickets",
            f"arm {arm.name} replication {task.replication} has {wl.height} tickets, "
            f"more than [limits] max_tickets = {limits.max_tickets}",
        )
    window = (exp.warmup, window_end(exp, arm.scenario, wl))
    vocab = Vocabulary.of(exp)
    sim = simulate(
        arm.scenario, wl, arm=arm.name, replication=task.replication, window=window, vocab=vocab, deadline=deadline
    )
    tickets = sim.tickets
    if LOG_INDEX in wl.columns:
        tickets = tickets.with_columns(replayed_columns(arm.scenario, wl[LOG_INDEX]))
    del wl  # the largest table of the task: free it before the events are built
    # events (numpy) and metrics (polars) only read the tables and release the GIL: side by side
    with ThreadPoolExecutor(max_workers=1) as pool:
        events = pool.submit(make_events, sim.tickets, sim.legs, vocab)
        m = metrics_mod.compute(tickets, sim.legs, arm.scenario, metrics_mod.Window(*window),
                                extra_segments=extra_segments(arm.scenario))
        ev = events.result()
    return TaskResult(task, tickets, ev, m)


def window_end(exp: Experiment, scenario: Scenario, wl: pl.DataFrame) -> float:
    """End of the measurement window: the horizon, the replayed log's span, else the last arrival."""
    if exp.horizon is not None:
        return exp.horizon
    rp = scenario.workload.replay
    if rp is not None and rp.log is not None and exp.tickets is None:
        return float(rp.log.end) / rp.time_scale
    return float(wl["arrival"].max()) if wl.height else 0.0  # type: ignore[arg-type]


def observed_result(exp: Experiment) -> TaskResult | None:
    """The observed arm of a replay whose control replays the log unchanged (else None)."""
    control = exp.control.scenario
    if not observed.comparable(control):
        return None
    vocab = Vocabulary.of(exp)
    rp = control.workload.replay
    assert rp is not None and rp.log is not None
    log: pl.DataFrame = rp.log.table
    # the control's window: a tickets cut ends at the arrival of the control's last ticket, the log's N-th row
    window = (exp.warmup, window_end(exp, control, log.head(exp.tickets) if exp.tickets is not None else log))
    tickets, legs = observed.tables(control, vocab, window)
    tickets = tickets.with_columns(replayed_columns(control, pl.Series(range(tickets.height))))
    events = make_events(tickets, legs, vocab)
    m = metrics_mod.compute(tickets, legs, control, metrics_mod.Window(*window),
                            extra_segments=extra_segments(control))
    return TaskResult(Task(len(exp.arms), 0), tickets, events, m)


def _check_workers(workers: int) -> None:
    if workers < 1:
        raise UsageError(f"--workers: {workers} is not a positive number of processes, expected an integer >= 1")


def run_experiment(exp: Experiment, *, workers: int | None = None, progress: Progress | None = None) -> RunOutput:
    """Run all arms × replications. A crossed limit stops the run and returns what completed before it."""
    workers = default_workers() if workers is None else workers
    _check_workers(workers)
    tasks = [Task(a, r) for a in range(len(exp.arms)) for r in range(exp.replications)]
    started = time.time()
    deadline = started + exp.limits.max_wall_time if exp.limits.max_wall_time is not None else None
    results: dict[Task, TaskResult] = {}
    fired: LimitExceeded | None = None
    if workers == 1 or len(tasks) == 1:
        for task in tasks:
            try:
                results[task] = run_task(exp, task, deadline)
            except LimitExceeded as e:
                fired = e
                break
            fired = _check_limits(exp, results, deadline)
            if progress:
                progress(len(results), len(tasks))
            if fired:
                break
    else:
        fired = _run_parallel(exp, tasks, workers, deadline, results, progress)
    return _assemble(exp, tasks, results, fired)


def _run_parallel(
    exp: Experiment,
    tasks: list[Task],
    workers: int,
    deadline: float | None,
    results: dict[Task, TaskResult],
    progress: Progress | None,
) -> LimitExceeded | None:
    fired: LimitExceeded | None = None
    # spawn, not fork: forking a process that runs polars' thread pool can deadlock
    ctx = multiprocessing.get_context("spawn")
    # the experiment (with a replayed log it can weigh 100 MB) goes to each worker once, not with every task
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx, initializer=_set_worker_experiment,
                             initargs=(exp,)) as pool:
        pending: dict[Future[TaskResult], Task] = {pool.submit(_run_worker_task, t, deadline): t for t in tasks}
        while pending and fired is None:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: (pending[f].arm_index, pending[f].replication)):
                task = pending.pop(fut)
                try:
                    results[task] = fut.result()
                except LimitExceeded as e:
                    fired = fired or e
                    continue
                if progress:
                    progress(len(results), len(tasks))
            fired = fired or _check_limits(exp, results, deadline)
        for fut in pending:
            fut.cancel()
    return fired


_WORKER_EXPERIMENT: Experiment | None = None


def _set_worker_experiment(exp: Experiment) -> None:
    global _WORKER_EXPERIMENT
    _WORKER_EXPERIMENT = exp


def _run_worker_task(task: Task, deadline: float | None) -> TaskResult:
    assert _WORKER_EXPERIMENT is not None, "worker started without its experiment"
    return run_task(_WORKER_EXPERIMENT, task, deadline)


def _check_limits(exp: Experiment, results: dict[Task, TaskResult], deadline: float | None) -> LimitExceeded | None:
    total = sum(r.tickets.height for r in results.values())
    mt = exp.limits.max_tickets
    if mt is not None and total > mt:
        return LimitExceeded("max_tickets", f"the run simulated {total} tickets, more than [limits] max_tickets = {mt}")
    if deadline is not None and time.time() > deadline:
        return LimitExceeded("max_wall_time", f"the run passed [limits] max_wall_time = {exp.limits.max_wall_time:g} s")
    return None


def _assemble(
    exp: Experiment, tasks: list[Task], results: dict[Task, TaskResult], fired: LimitExceeded | None
) -> RunOutput:
    ordered = [results[t] for t in tasks if t in results]
    seen = observed_result(exp)
    if fired is not None and fired.limit == "max_tickets":
        # keep the tasks that fit under the limit, in task order
        kept, total = [], 0
        for r in ordered:
            if total + r.tickets.height > (exp.limits.max_tickets or 0):
                break
            kept.append(r)
            total += r.tickets.height
        ordered = kept
    if seen is not None:
        ordered.append(seen)

    def cat(frames: list[pl.DataFrame]) -> pl.DataFrame:
        return pl.concat(frames, how="vertical") if frames else pl.DataFrame()

    return RunOutput(
        tickets=cat([r.tickets for r in ordered]),
        events=cat([r.events for r in ordered]),
        metrics=cat([r.metrics for r in ordered]),
        status="aborted" if fired else "complete",
        limit=fired.limit if fired else None,
        limit_message=str(fired) if fired else None,
        seeds=seeds_of(exp),
        tasks_done=len(ordered),
        tasks_total=len(tasks),
    )
