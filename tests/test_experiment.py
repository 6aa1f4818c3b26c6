"""Loading experiment files: defaults, arms, the raw round trip, and the exact message of every kind of problem."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
import tomli_w
from support import problems, write

from supportlab import model
from supportlab.distributions import Dist
from supportlab.errors import ConfigError
from supportlab.experiment import load_experiment, load_text, starter_text

DATA = Path(__file__).parent / "data"

BASE = """\
[experiment]
name = "desk"
seed = 7
replications = 3
horizon = "8h"
warmup = "30m"

[objective]
metric = "first_response.p95"
direction = "decrease"
min_effect = 0.1

[[guardrails]]
metric = "csat.mean"
max_degradation = 0.02

[expect]
"sla_attainment" = { min = 0.8 }
"first_response.p95" = { max = "10m", arm = "more_agents" }

[limits]
max_tickets = 1_000_000
max_wall_time = "10m"

[workload]
kind = "generate"

[[workload.channels]]
name = "chat"
arrivals = { rate = "240/h" }
sla = "60s"
patience = { dist = "exponential", mean = "4m" }

[[workload.channels]]
name = "email"
arrivals = { rate = "60/h" }
sla = "4h"

[[workload.intents]]
name = "billing"
share = 0.5
handle_time = { dist = "lognormal", mean = "6m", sd = "4m" }

[[workload.intents]]
name = "bug"
share = 0.2
handle_time = { dist = "gamma", mean = "15m", sd = "10m" }
escalation = 0.6

[[workload.intents]]
name = "password"
share = 0.3
handle_time = { dist = "exponential", mean = "3m" }

[system]
routing = "skills"

[system.bot]
channels = ["chat"]
containment = { billing = 0.3, password = 0.7 }
triage_accuracy = 0.9
latency = { dist = "lognormal", mean = "2s", sd = "1s" }

[[system.pools]]
name = "tier1"
agents = 12
skills = ["billing", "password", "bug"]
concurrency = { chat = 3, email = 1 }

[[system.pools]]
name = "specialists"
agents = 3
skills = ["bug"]
tier = 2

[system.escalation]
handoff_latency = { dist = "exponential", mean = "3m" }
context_preserved = 0.8
rework = 0.3

[arms.control]

[arms.more_agents]
set = { "system.pools.tier1.agents" = 13 }
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# ---------------------------------------------------------------------------------------------
# valid files


@pytest.mark.parametrize("name", ["mmc.toml", "erlang-a.toml"])
def test_shared_examples_load(name: str) -> None:
    exp = load_experiment(DATA / name)
    assert exp.name == name.removesuffix(".toml")
    assert exp.sha256 == hashlib.sha256((DATA / name).read_bytes()).hexdigest()
    assert exp.arms[0].name == "control"
    assert exp.path == str(DATA / name)


def test_mmc_gets_neutral_defaults() -> None:
    exp = load_experiment(DATA / "mmc.toml")
    sc = exp.control.scenario
    assert sc.system.bot is None
    assert sc.system.kb is None
    assert sc.system.escalation is None
    assert sc.system.routing == "skills"
    assert sc.system.transfer_time == Dist("fixed", value=60.0)
    assert sc.workload.personas == (model.DEFAULT_PERSONA,)
    assert sc.workload.bursts == ()
    (channel,) = sc.workload.channels
    assert channel.patience is None
    assert channel.sla == 20.0
    assert channel.priority == 0
    assert channel.rates == pytest.approx((570 / 3600,) * 24)
    (intent,) = sc.workload.intents
    assert intent == model.Intent("general", 1.0, Dist("exponential", mean=60.0), "general")
    (pool,) = sc.system.pools
    assert pool == model.Pool("agents", ("general",), tier=1, agents=10)
    assert (exp.seed, exp.replications, exp.horizon, exp.tickets, exp.warmup, exp.crn) == (
        1, 10, 86400.0, None, 3600.0, True)
    assert exp.objective == model.Objective("wait.mean", "decrease", min_effect=0.05, alpha=0.05)
    assert exp.guardrails == () and exp.expectations == () and exp.limits == model.Limits()
    assert exp.inputs == ()


def test_variant_overrides_one_value() -> None:
    exp = load_experiment(DATA / "mmc.toml")
    assert [a.name for a in exp.arms] == ["control", "eleven_agents"]
    assert exp.control.scenario.system.pools[0].agents == 10
    arm = exp.arm("eleven_agents")
    assert arm.scenario.system.pools[0].agents == 11
    assert arm.changes == (("system.pools.agents.agents", 11),)
    assert arm.allow_multi is False
    assert arm.scenario.workload == exp.control.scenario.workload


def test_erlang_a_variant_changes_a_distribution_parameter() -> None:
    exp = load_experiment(DATA / "erlang-a.toml")
    assert exp.control.scenario.workload.channels[0].patience == Dist("exponential", mean=240.0)
    assert exp.arm("shorter_calls").scenario.workload.intents[0].handle_time == Dist("exponential", mean=54.0)


def test_full_file_builds_every_part(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, BASE))
    sys_ = exp.control.scenario.system
    assert sys_.bot == model.Bot(("chat",), (("billing", 0.3), ("password", 0.7)), 0.9,
                                 Dist("lognormal", mean=2.0, sd=1.0))
    assert sys_.escalation == model.Escalation(Dist("exponential", mean=180.0), 0.8, 0.3)
    assert sys_.pools[0].concurrency == (("chat", 3), ("email", 1))
    assert [p.tier for p in sys_.pools] == [1, 2]
    assert exp.guardrails == (model.Guardrail("csat.mean", max_degradation=0.02),)
    assert exp.expectations == (
        model.Expectation("sla_attainment", min=0.8),
        model.Expectation("first_response.p95", max=600.0, arm="more_agents"),
    )
    assert exp.limits == model.Limits(1_000_000, 600.0)
    assert exp.arm("more_agents").scenario.system.pools[0].agents == 13


def test_cli_overrides_replace_seed_and_replications(tmp_path: Path) -> None:
    exp = load_experiment(DATA / "mmc.toml", seed=99, replications=2)
    assert (exp.seed, exp.replications) == (99, 2)
    assert exp.raw["experiment"]["seed"] == 99
    assert exp.raw["experiment"]["replications"] == 2
    with pytest.raises(ConfigError) as info:
        load_experiment(DATA / "mmc.toml", seed=-1, replications=0)
    assert info.value.problems == [
        "--seed: -1 is not a non-negative integer, expected an integer >= 0",
        "--replications: 0 is not a positive integer, expected an integer >= 1",
    ]


def test_overrides_supply_a_missing_seed(tmp_path: Path) -> None:
    path = write(tmp_path, edit("seed = 7\n", ""))
    assert load_experiment(path, seed=3).seed == 3


@pytest.mark.parametrize("source", ["mmc.toml", "erlang-a.toml", "base"])
def test_raw_round_trip(tmp_path: Path, source: str) -> None:
    path = write(tmp_path, BASE) if source == "base" else DATA / source
    exp = load_experiment(path, seed=5)
    again = load_text(tomli_w.dumps(exp.raw), "elsewhere.toml", base_dir=path.parent)
    assert again == dataclasses.replace(exp, path="elsewhere.toml", sha256=again.sha256)
    assert again.raw == exp.raw
    assert again.seed == 5


def test_raw_has_defaults_filled_and_arms_as_written() -> None:
    exp = load_experiment(DATA / "mmc.toml")
    assert exp.raw["experiment"]["crn"] is True
    assert exp.raw["system"]["routing"] == "skills"
    assert exp.raw["system"]["transfer_time"] == {"dist": "fixed", "value": "60s"}
    assert exp.raw["workload"]["intents"][0]["escalation"] == 0.0
    assert "skill" not in exp.raw["workload"]["intents"][0]  # derived defaults stay implicit
    assert exp.raw["arms"] == {"control": {}, "eleven_agents": {"set": {"system.pools.agents.agents": 11}}}
    exp.raw["experiment"]["seed"] = 123  # raw is a copy: changing it changes nothing else
    assert exp.seed == 1


def test_tickets_instead_of_horizon(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, edit('horizon = "8h"\nwarmup = "30m"', "tickets = 5000")))
    assert (exp.horizon, exp.tickets, exp.warmup) == (None, 5000, 0.0)


def test_a_control_only_file_is_valid(tmp_path: Path) -> None:
    text = edit('\n[arms.more_agents]\nset = { "system.pools.tier1.agents" = 13 }\n', "\n")
    text = edit(', arm = "more_agents"', "", text)
    exp = load_experiment(write(tmp_path, text))
    assert [a.name for a in exp.arms] == ["control"]


def test_variant_changing_nothing_is_allowed(tmp_path: Path) -> None:
    text = BASE + "\n[arms.aa]\n\n[arms.same]\nset = { \"system.pools.tier1.agents\" = 12 }\n"
    exp = load_experiment(write(tmp_path, text))
    assert exp.arm("aa").scenario == exp.control.scenario
    assert exp.arm("same").scenario == exp.control.scenario


def test_allow_multi_accepts_several_changes(tmp_path: Path) -> None:
    text = BASE + ('\n[arms.both]\nallow_multi = true\n'
                   'set = { "system.pools.tier1.agents" = 14, "workload.channels.chat.sla" = "30s" }\n')
    arm = load_experiment(write(tmp_path, text)).arm("both")
    assert arm.allow_multi is True
    assert arm.scenario.system.pools[0].agents == 14
    assert arm.scenario.workload.channels[0].sla == 30.0


@pytest.mark.parametrize(
    ("path", "value", "check"),
    [
        ("system.bot.containment.billing", 0.5, lambda s: s.system.bot.containment_of("billing") == 0.5),
        ("system.bot.containment.bug", 0.1, lambda s: s.system.bot.containment_of("bug") == 0.1),
        ("workload.channels.chat.arrivals.rate", "300/h", lambda s: s.workload.channels[0].rates[0] == 300 / 3600),
        ("workload.intents.billing.handle_time.mean", "5m", lambda s: s.workload.intents[0].handle_time.mean == 300),
        ("workload.intents.bug.tier2_handle_time", {"dist": "exponential", "mean": "20m"},
         lambda s: s.workload.intents[1].tier2_handle_time == Dist("exponential", mean=1200.0)),
        ("workload.channels.email.patience", {"dist": "exponential", "mean": "1d"},
         lambda s: s.workload.channels[1].patience == Dist("exponential", mean=86400.0)),
        ("system.pools.tier1.skills", ["billing", "password", "bug", "extra"],
         lambda s: s.system.pools[0].skills[-1] == "extra"),
        ("system.pools.tier1.skills.0", "billing", lambda s: s.system.pools[0].skills[0] == "billing"),
        ("system.routing", "fifo", lambda s: s.system.routing == "fifo"),
        ("system.transfer_time.value", "30s", lambda s: s.system.transfer_time == Dist("fixed", value=30.0)),
        ("system.kb", {"hit_rate": 0.5}, lambda s: s.system.kb == model.KB(0.5, Dist("fixed", value=0.0), 0.0)),
    ],
)
def test_variant_paths(tmp_path: Path, path: str, value: object, check: object) -> None:
    text = BASE + "\n" + tomli_w.dumps({"arms": {"v": {"set": {path: value}}}})
    exp = load_experiment(write(tmp_path, text))
    assert callable(check) and check(exp.arm("v").scenario)
    assert exp.arm("v").changes == ((path, value),)


def test_empirical_distributions_from_values_and_csv(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    csv_bytes = b"id,secs\n1,30\n2,45.5\n\n3,12\n"
    (tmp_path / "data" / "handle.csv").write_bytes(csv_bytes)
    (tmp_path / "plain.csv").write_text("seconds\n5\n1\n")
    text = edit('{ dist = "exponential", mean = "3m" }',
                '{ dist = "empirical", path = "data/handle.csv", column = "secs" }')
    text = edit('{ dist = "exponential", mean = "3m" }', '{ dist = "empirical", values = ["1m", 5, 0] }', text)
    text = edit('{ dist = "exponential", mean = "4m" }', '{ dist = "empirical", path = "plain.csv" }', text)
    exp = load_experiment(write(tmp_path, text))
    wl = exp.control.scenario.workload
    assert wl.intents[2].handle_time == Dist("empirical", values=(12.0, 30.0, 45.5), source="data/handle.csv")
    assert wl.channels[0].patience == Dist("empirical", values=(1.0, 5.0), source="plain.csv")
    assert exp.inputs == (
        (str(tmp_path / "plain.csv"), hashlib.sha256(b"seconds\n5\n1\n").hexdigest()),
        (str(tmp_path / "data" / "handle.csv"), hashlib.sha256(csv_bytes).hexdigest()),
    )
    assert exp.raw["workload"]["intents"][2]["handle_time"]["path"] == "data/handle.csv"


def test_hour_of_day_profile(tmp_path: Path) -> None:
    profile = ", ".join(['"0/h"'] * 23 + ['"36/h"'])
    exp = load_experiment(write(tmp_path, edit('{ rate = "60/h" }', f"{{ profile = [{profile}] }}")))
    assert exp.control.scenario.workload.channels[1].rates == (0.0,) * 23 + (0.01,)


def test_shifts_and_bursts_and_personas(tmp_path: Path) -> None:
    text = edit('name = "specialists"\nagents = 3',
                'name = "specialists"\nshifts = [{ start = "8h", end = "16h", agents = 2 },'
                ' { start = "22h", end = "30h", agents = 1 }]')
    text = edit("[[workload.intents]]",
                '[[workload.bursts]]\nstart = "2h"\nduration = "45m"\nmultiplier = 3.0\nchannels = ["chat"]\n\n'
                '[[workload.personas]]\nname = "calm"\nshare = 0.7\n\n'
                '[[workload.personas]]\nname = "impatient"\nshare = 0.3\npatience_factor = 0.5\nsentiment = -0.5\n\n'
                "[[workload.intents]]", text)
    exp = load_experiment(write(tmp_path, text))
    wl, pools = exp.control.scenario.workload, exp.control.scenario.system.pools
    assert pools[1].agents is None
    assert pools[1].shifts == (model.Shift(28800.0, 57600.0, 2), model.Shift(79200.0, 108000.0, 1))
    assert wl.bursts == (model.Burst(7200.0, 2700.0, 3.0, ("chat",)),)
    assert wl.personas == (model.Persona("calm", 0.7), model.Persona("impatient", 0.3, 0.5, -0.5))


def test_starter_template_is_valid(tmp_path: Path) -> None:
    text = starter_text()
    assert text.startswith("#")
    exp = load_experiment(write(tmp_path, text, "starter.toml"))
    sc = exp.control.scenario
    assert [c.name for c in sc.workload.channels] == ["chat", "email"]
    assert len(sc.workload.intents) == 2
    assert sc.system.bot is not None and len(sc.system.pools) == 1
    assert len(exp.arms) == 2


# ---------------------------------------------------------------------------------------------
# problems: exact messages


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert str(info.value) == f"{path}: file not found"


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    assert problems(tmp_path, edit("max_tickets = 1_000_000", "max_tickets = = 2")) == [
        "line 22, column 15: TOML syntax error: Invalid value"]
    assert problems(tmp_path, "a = 1\n[x") == [
        "line 2, column 3: TOML syntax error: Expected ']' at the end of a table declaration"]


def test_load_text_uses_the_given_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_text(edit("seed = 7", "seed = -7"), "experiments/x.toml")
    assert str(info.value) == (
        "experiments/x.toml: experiment.seed: -7 is not a non-negative integer, expected an integer >= 0")


def test_unknown_key_with_suggestion(tmp_path: Path) -> None:
    assert problems(tmp_path, edit("agents = 12", "agent = 12")) == [
        "system.pools[0]: neither agents nor shifts given, expected exactly one of agents, shifts",
        "system.pools[0].agent: unknown key, expected one of agents, concurrency, extra_shifts, name, shifts, skills, "
        "staffing, tier "
        '(did you mean "agents"?)',
    ]
    assert problems(tmp_path, BASE + "\n[extras]\n") == [
        "extras: unknown key, expected one of arms, diff, expect, experiment, guardrails, limits, objective, "
        "system, workload"]


def test_wrong_types_name_the_value_and_the_type(tmp_path: Path) -> None:
    text = edit("seed = 7", 'seed = "7"')
    text = edit("agents = 12", "agents = 12.0", text)
    text = edit('routing = "skills"', "routing = 1", text)
    text = edit("triage_accuracy = 0.9", 'triage_accuracy = "high"', text)
    text = edit('sla = "60s"', "sla = true", text)
    text = edit('skills = ["bug"]', "skills = 'bug'", text)
    assert problems(tmp_path, text) == [
        'experiment.seed: "7" is a string, expected an integer >= 0',
        'workload.channels[0].sla: true is a boolean, expected a duration, e.g. "45s", "5m", "1.5h" or a number '
        "of seconds",
        "system.routing: 1 is an integer, expected one of fifo, longest-idle, priority, skills",
        'system.bot.triage_accuracy: "high" is a string, expected a number in [0, 1]',
        "system.pools[0].agents: 12.0 is a float, expected an integer >= 1",
        'system.pools[1].skills: "bug" is a string, expected an array of skills, e.g. ["billing"]',
    ]


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ('"-5/h"', '"-5/h" is not a positive rate, expected e.g. "240/h"'),
        ('"0/h"', '"0/h" is not a positive rate, expected e.g. "240/h"'),
        ("240", '240 is an integer, expected a rate, e.g. "240/h"'),
    ],
)
def test_bad_rates(tmp_path: Path, rate: str, message: str) -> None:
    assert problems(tmp_path, edit('"240/h"', rate)) == [f"workload.channels[0].arrivals.rate: {message}"]


def test_bad_profiles(tmp_path: Path) -> None:
    def with_profile(items: list[str]) -> str:
        return edit('{ rate = "60/h" }', "{ profile = [" + ", ".join(items) + "] }")

    loc = "workload.channels[1].arrivals"
    assert problems(tmp_path, with_profile(['"1/h"'] * 23)) == [
        f"{loc}.profile: 23 rates given, expected 24 hour-of-day rates"]
    assert problems(tmp_path, with_profile(['"0/h"'] * 24)) == [
        f"{loc}.profile: all 24 rates are zero, expected at least one positive rate"]
    assert problems(tmp_path, with_profile(['"1/h"'] * 5 + ['"-1/h"'] + ['"1/h"'] * 18)) == [
        f'{loc}.profile[5]: "-1/h" is not a rate >= 0, expected e.g. "240/h" or "0/h"']
    assert problems(tmp_path, edit('{ rate = "60/h" }', '{ rate = "60/h", profile = [] }')) == [
        f'{loc}: both rate and profile given, expected exactly one of rate, profile, e.g. {{ rate = "240/h" }}']


def test_shares_must_sum_to_one(tmp_path: Path) -> None:
    assert problems(tmp_path, edit("share = 0.3", "share = 0.45")) == [
        "workload.intents[2].share: shares sum to 1.15, expected 1.0"]
    assert problems(tmp_path, edit("share = 0.3", "share = 0")) == [
        "workload.intents[2].share: 0 is not a share, expected a number in (0, 1]"]


def test_intent_skill_no_tier1_pool_has(tmp_path: Path) -> None:
    text = edit('handle_time = { dist = "gamma", mean = "15m", sd = "10m" }',
                'handle_time = { dist = "gamma", mean = "15m", sd = "10m" }\nskill = "refunds"')
    assert problems(tmp_path, text) == [
        'workload.intents[1].skill: "refunds" is a skill no tier-1 pool has, expected one of billing, bug, password',
        'workload.intents[1].escalation: 0.6 sends tickets to tier 2 but no pool with tier >= 2 has skill '
        '"refunds", expected such a pool, or escalation = 0',
    ]


def test_escalation_needs_a_higher_tier_pool(tmp_path: Path) -> None:
    assert problems(tmp_path, edit("tier = 2", "tier = 1")) == [
        'workload.intents[1].escalation: 0.6 sends tickets to tier 2 but no pool with tier >= 2 has skill "bug", '
        "expected such a pool, or escalation = 0"]


def test_duplicate_names(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('name = "specialists"', 'name = "tier1"')) == [
        'system.pools[1].name: "tier1" is already the name of system.pools[0], expected a unique name']
    assert problems(tmp_path, edit('name = "password"', 'name = "bug"')) == [
        'workload.intents[2].name: "bug" is already the name of workload.intents[1], expected a unique name']


def test_names_cannot_hold_dots_or_spaces(tmp_path: Path) -> None:
    assert problems(tmp_path, edit('name = "email"', 'name = "e.mail"')) == [
        'workload.channels[1].name: "e.mail" is not a name, expected letters, digits, "_" or "-" (no dots or spaces)']


def test_experiment_table_problems(tmp_path: Path) -> None:
    text = edit('name = "desk"', 'name = "Help Desk"')
    text = edit("replications = 3", "replications = 0", text)
    text = edit('warmup = "30m"', 'warmup = "9h"\ncrn = "yes"', text)
    assert problems(tmp_path, text) == [
        'experiment.name: "Help Desk" is not a slug, expected lowercase letters, digits, ".", "_" or "-", '
        "starting with a letter or digit",
        "experiment.replications: 0 is not a positive integer, expected an integer >= 1",
        'experiment.warmup: "9h" is not shorter than horizon ("8h"), expected warmup < horizon',
        'experiment.crn: "yes" is a string, expected true or false',
    ]
    assert problems(tmp_path, edit('horizon = "8h"', "tickets = 10\nhorizon = \"8h\"")) == [
        "experiment: both horizon and tickets given, expected exactly one of horizon, tickets"]
    assert problems(tmp_path, edit('horizon = "8h"\n', "")) == [
        'experiment: neither horizon nor tickets given, expected exactly one of horizon, tickets, e.g. horizon = "8h"']


def test_objective_guardrail_expect_limits_problems(tmp_path: Path) -> None:
    text = edit('metric = "first_response.p95"', 'metric = "first_respons.p95"')
    text = edit('direction = "decrease"', 'direction = "down"\nalpha = 1', text)
    text = edit("max_degradation = 0.02", "max_degradation = 0.02\nmax_degradation_abs = 0.1", text)
    text = edit('"sla_attainment" = { min = 0.8 }', '"sla_attainment" = { min = 0.8, arm = "b" }\n'
                '"wait.avg" = { max = 5 }\n"tickets" = {}', text)
    text = edit("max_tickets = 1_000_000", "max_tickets = 0", text)
    assert problems(tmp_path, text) == [
        'objective.metric: "first_respons.p95" is not a metric, expected a canonical metric name '
        '(did you mean "first_response.p95"?)',
        'objective.direction: "down" is not a direction, expected one of decrease, increase',
        "objective.alpha: 1 is not a significance level, expected a number in (0, 1)",
        "guardrails[0]: both max_degradation and max_degradation_abs given, expected exactly one of "
        "max_degradation, max_degradation_abs",
        'expect.sla_attainment.arm: "b" is not an arm, expected one of control, more_agents',
        'expect."wait.avg": unknown metric, expected a canonical metric name (did you mean "wait.mean"?)',
        "expect.tickets: neither min nor max given, expected min and/or max (or within = a share and of = an arm)",
        "limits.max_tickets: 0 is not a positive integer, expected an integer >= 1",
    ]


def test_distribution_problems(tmp_path: Path) -> None:
    text = edit('{ dist = "lognormal", mean = "6m", sd = "4m" }', '{ dist = "normal", mean = "6m" }')
    text = edit('{ dist = "gamma", mean = "15m", sd = "10m" }', '{ dist = "gamma", mean = "0s" }', text)
    text = edit('{ dist = "exponential", mean = "3m" }', '{ dist = "uniform", low = "2m", high = "1m", sd = 1 }', text)
    text = edit('{ dist = "exponential", mean = "4m" }', '"4m"', text)
    assert problems(tmp_path, text) == [
        'workload.channels[0].patience: "4m" is a string, expected a distribution, e.g. '
        '{ dist = "exponential", mean = "5m" }',
        'workload.intents[0].handle_time.dist: "normal" is not a distribution, expected one of empirical, '
        'exponential, fixed, gamma, lognormal, uniform (did you mean "lognormal"?)',
        'workload.intents[1].handle_time.mean: "0s" is not a positive duration, expected a duration > 0',
        'workload.intents[1].handle_time.sd: missing key, expected a duration >= 0, e.g. "5m"',
        'workload.intents[2].handle_time.high: "1m" is less than low ("2m"), expected high >= low',
        "workload.intents[2].handle_time.sd: unknown key, expected one of dist, high, low",
    ]


def test_empirical_problems(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("id,secs\n1,30\n2,abc\n")
    text = edit('{ dist = "exponential", mean = "3m" }', '{ dist = "empirical", path = "h.csv", column = "sec" }')
    text = edit('{ dist = "exponential", mean = "4m" }', '{ dist = "empirical", path = "h.csv" }', text)
    text = edit('{ dist = "gamma", mean = "15m", sd = "10m" }', '{ dist = "empirical", values = [1, -2] }', text)
    text = edit('{ dist = "lognormal", mean = "6m", sd = "4m" }', '{ dist = "empirical", path = "no.csv" }', text)
    text = edit('{ dist = "exponential", mean = "3m" }', '{ dist = "empirical" }', text)
    assert problems(tmp_path, text) == [
        'workload.channels[0].patience.path: "h.csv" has 2 columns, expected one column (or a column key)',
        'workload.intents[0].handle_time.path: "no.csv" was not found, expected a CSV file relative to the '
        "experiment file",
        "workload.intents[1].handle_time.values[1]: -2 is negative, expected a duration >= 0",
        'workload.intents[2].handle_time.column: "sec" is not a column of "h.csv", expected one of id, secs '
        '(did you mean "secs"?)',
        'system.escalation.handoff_latency: neither values nor path given, expected exactly one: '
        'values = [...] or path = "file.csv"',
    ]
    text = edit('{ dist = "exponential", mean = "3m" }', '{ dist = "empirical", path = "h.csv", column = "secs" }')
    assert problems(tmp_path, text) == [
        'workload.intents[2].handle_time.path: "abc" on line 3 of "h.csv" is not a number of seconds, '
        "expected a number >= 0"]


def test_pool_problems(tmp_path: Path) -> None:
    text = edit('name = "specialists"\nagents = 3',
                'name = "specialists"\nshifts = [{ start = "25h", end = "28h", agents = 1 },'
                ' { start = "20h", end = "10h", agents = 1 }, { start = "1h", end = "26h", agents = 1 }]')
    text = edit("concurrency = { chat = 3, email = 1 }", "concurrency = { chat = 0, mail = 1 }", text)
    assert problems(tmp_path, text) == [
        "system.pools[0].concurrency.chat: 0 is not a positive integer, expected an integer >= 1",
        'system.pools[0].concurrency.mail: unknown channel, expected one of chat, email (did you mean "email"?)',
        'system.pools[1].shifts[0].start: "25h" is not a time of day, expected a duration >= 0 and < "24h"',
        'system.pools[1].shifts[1].end: "10h" is not after start ("20h"), expected end > start (an overnight '
        'shift ends past "24h", e.g. "30h")',
        'system.pools[1].shifts[2].end: "26h" is more than 24h after start ("1h"), expected end <= start + 24h',
    ]
    assert problems(tmp_path, edit("agents = 3", 'agents = 3\nshifts = [{ start = "0h", end = "8h", agents = 2 }]')
                    ) == ["system.pools[1]: both agents and shifts given, expected exactly one of agents, shifts"]
    assert problems(tmp_path, edit("agents = 3", 'shifts = [{ start = "0h", end = "8h", agents = 0 }]')) == [
        "system.pools[1].shifts: no agent on any shift, expected at least one agent on some shift"]


def test_bot_and_kb_problems(tmp_path: Path) -> None:
    text = edit('channels = ["chat"]', 'channels = ["chat", "sms"]')
    text = edit("containment = { billing = 0.3, password = 0.7 }", "containment = { billing = 1.3, pasword = 0.7 }",
                text)
    text = edit("[[system.pools]]", '[system.kb]\nhit_rate = 0.6\noutages = [{ start = "3h", duration = "0m" }]\n'
                'fallback = { hit_rat = 0.4 }\n\n[[system.pools]]', text)
    assert problems(tmp_path, text) == [
        'system.bot.channels[1]: "sms" is not a channel, expected one of chat, email',
        "system.bot.containment.billing: 1.3 is not a probability, expected a number in [0, 1]",
        'system.bot.containment.pasword: unknown intent, expected one of billing, bug, password '
        '(did you mean "password"?)',
        'system.kb.outages[0].duration: "0m" is not a positive duration, expected a duration > 0',
        'system.kb.fallback.hit_rat: unknown key, expected one of hit_rate, latency (did you mean "hit_rate"?)',
        "system.kb.fallback.hit_rate: missing key, expected a number in [0, 1]",
    ]


def test_replay_kind_refuses_generated_keys(tmp_path: Path) -> None:
    found = problems(tmp_path, edit('kind = "generate"', 'kind = "replay"\npath = "tickets.csv"'))
    assert "workload.path: unknown key, expected one of channels, intents, kind, replay" \
        in found
    assert "workload.replay: missing key, expected a [workload.replay] table" in found
    assert "workload.channels[0].arrivals: unknown key, expected one of name, patience, priority, sla" in found
    assert problems(tmp_path, edit('kind = "generate"', 'kind = "replicate"')) == [
        'workload.kind: "replicate" is not a workload kind, expected "generate" or "replay"']


def test_missing_sections_and_keys(tmp_path: Path) -> None:
    text = edit('sla = "4h"\n', "")
    text = edit("\n[arms.control]\n", "\n", text)
    assert problems(tmp_path, text) == [
        'workload.channels[1].sla: missing key, expected a first-response target, e.g. "60s"',
        "arms.control: missing key, expected an empty [arms.control] table",
    ]
    no_arms = BASE[: BASE.index("[arms.control]")]
    assert problems(tmp_path, edit(', arm = "more_agents"', "", no_arms)) == [
        "arms: missing key, expected an [arms.control] table"]


def test_control_arm_must_be_empty(tmp_path: Path) -> None:
    assert problems(tmp_path, edit("[arms.control]\n", '[arms.control]\nset = { "system.routing" = "fifo" }\n')) == [
        "arms.control.set: unknown key, expected an empty [arms.control] table (the control arm changes nothing)"]


def test_several_problems_are_reported_in_file_order(tmp_path: Path) -> None:
    text = edit("[arms.control]", '[arms.control]\n\n[arms."Big One"]\nsets = {}')
    text = edit("[experiment]", '[system.kb]\nhit_rate = 2\n\n[experiment]', text)
    text = edit("seed = 7", "seed = -1", text)
    assert problems(tmp_path, text) == [
        "system.kb.hit_rate: 2 is not a probability, expected a number in [0, 1]",
        "experiment.seed: -1 is not a non-negative integer, expected an integer >= 0",
        'arms."Big One": "Big One" is not a slug, expected lowercase letters, digits, ".", "_" or "-", starting '
        "with a letter or digit",
        'arms."Big One".sets: unknown key, expected one of allow_multi, set (did you mean "set"?)',
    ]


# ---------------------------------------------------------------------------------------------
# problems of variant arms


def with_arm(body: str) -> str:
    return BASE + "\n[arms.v]\n" + body + "\n"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("system.pools.tier9.agents", 'no pool named "tier9", expected one of tier1, specialists'),
        ("system.pools.tier1.agent",
         'no key "agent" in system.pools.tier1, expected one of agents, concurrency, extra_shifts, name, shifts, '
         'skills, staffing, tier '
         '(did you mean "agents"?)'),
        ("workload.intents.refunds.share", 'no intent named "refunds", expected one of billing, bug, password'),
        ("system.bot.containment.refunds", 'no intent named "refunds", expected one of billing, bug, password'),
        ("system.kb.hit_rate", 'system has no kb, expected a path to an existing table (set "system.kb" as a whole)'),
        ("system.pools.tier1.agents.x",
         "system.pools.tier1.agents is a value, not a table, expected a path that ends at system.pools.tier1.agents"),
        ("system.pools.tier1.name", "system.pools.tier1.name names the item and cannot be changed, expected a path "
         "to another key"),
        ("workload.intents.bug.handle_time.low", 'no key "low" in workload.intents.bug.handle_time, expected one '
         "of dist, mean, sd"),
        ("system.pools.tier1.skills.3", 'no item "3" in system.pools.tier1.skills, expected an index from 0 to 2'),
        ("experiment.seed", '"experiment" cannot be changed by an arm, expected a path starting with "workload." '
         'or "system."'),
        ("system..routing", '"system..routing" is not a dotted path, expected keys separated by ".", e.g. '
         '"system.pools.tier1.agents"'),
    ],
)
def test_variant_path_that_does_not_exist(tmp_path: Path, path: str, message: str) -> None:
    assert problems(tmp_path, with_arm(f'set = {{ "{path}" = 1 }}')) == [f'arms.v.set."{path}": {message}']


def test_variant_value_problem_is_named_by_its_set_entry(tmp_path: Path) -> None:
    assert problems(tmp_path, with_arm('set = { "system.pools.tier1.agents" = 0 }')) == [
        'arms.v.set."system.pools.tier1.agents": 0 is not a positive integer, expected an integer >= 1']
    text = with_arm('allow_multi = true\nset = { "system.bot" = { containment = { bug = 2 } } }')
    assert problems(tmp_path, text) == [
        'arms.v.set."system.bot": system.bot.containment.bug: 2 is not a probability, expected a number in [0, 1]']
    assert problems(tmp_path, with_arm('set = { "workload.intents.billing.share" = 0.6 }')) == [
        'arms.v.set."workload.intents.billing.share": workload.intents[2].share: shares sum to 1.1, expected 1.0']


def test_variant_changing_two_values_is_refused(tmp_path: Path) -> None:
    assert problems(tmp_path, with_arm(
        'set = { "workload.channels.chat.sla" = "30s", "system.pools.tier1.agents" = 14 }')) == [
        "arms.v.set: changes 2 values (system.pools.tier1.agents, workload.channels.chat.sla), expected exactly one "
        "(or allow_multi = true)"]
    # a whole table counts every value it changes
    assert problems(tmp_path, with_arm(
        'set = { "workload.intents.bug.handle_time" = { dist = "lognormal", mean = "15m", sd = "5m" } }')) == [
        "arms.v.set: changes 2 values (workload.intents.bug.handle_time.dist, workload.intents.bug.handle_time.sd), "
        "expected exactly one (or allow_multi = true)"]


def test_adding_an_optional_part_is_one_change(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, with_arm(
        'set = { "workload.channels.email.patience" = { dist = "lognormal", mean = "1d", sd = "2h" } }')))
    assert exp.arm("v").scenario.workload.channels[1].patience == Dist("lognormal", mean=86400.0, sd=7200.0)


def test_variant_problem_already_in_control_is_reported_once(tmp_path: Path) -> None:
    text = edit("seed = 7", "seed = -1", with_arm('set = { "system.routing" = "fifo" }'))
    text = edit('sla = "4h"', 'sla = "0s"', text)
    assert problems(tmp_path, text) == [
        "experiment.seed: -1 is not a non-negative integer, expected an integer >= 0",
        'workload.channels[1].sla: "0s" is not a positive duration, expected a duration > 0',
    ]



def test_absurd_sizes_are_refused_before_anything_runs(tmp_path):
    """A typo like replications = 1000000 must not exhaust memory: it is refused with the bounds."""
    path = tmp_path / "big.toml"
    path.write_text((DATA / "mmc.toml").read_text().replace("replications = 10", "replications = 1000000"))
    with pytest.raises(ConfigError) as e:
        load_experiment(path)
    assert str(e.value) == (
        f"{path}: experiment.replications: 1000000 is more than supportlab runs at once, "
        "expected an integer from 1 to 100,000"
    )
    with pytest.raises(ConfigError) as e:
        load_experiment(DATA / "mmc.toml", replications=10**9)
    assert str(e.value) == (
        "--replications: 1000000000 is more than supportlab runs at once, expected an integer from 1 to 100,000"
    )


def test_relative_expectations(tmp_path: Path) -> None:
    text = edit("[expect]", '[expect]\n"wait.p90" = { within = 0.2, of = "more_agents" }')
    exp = load_experiment(write(tmp_path, text))
    assert model.Expectation("wait.p90", arm="control", within=0.2, of="more_agents") in exp.expectations
    bad = edit("[expect]", '[expect]\n"wait.p90" = { within = -1, of = "observed", min = 1 }\n'
                           '"wait.p95" = { of = "control" }')
    assert problems(tmp_path, bad) == [
        "expect.\"wait.p90\".within: -1 is not a non-negative number, expected a number >= 0",
        'expect."wait.p90".of: "observed" is not an arm, expected one of control, more_agents',
        "expect.\"wait.p90\".min: given with within/of, expected either min/max, or within and of",
        'expect."wait.p95".of: "control" is the arm the expectation is about, expected another arm',
        'expect."wait.p95".within: missing key, expected within = a share (0.15 = 15%) and of = an arm, e.g. '
        '"observed"',
    ]
