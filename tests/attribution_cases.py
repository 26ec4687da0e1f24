"""Hand-computed attribution cases: small path sets and the credits every model must give.

Each case is (paths, conversions, value, nulls, ages in days or None, model, settings, transform,
expected conversions by channel, expected value by channel). The arithmetic is in the comments.
:data:`SCENARIO_CASES` (below) adds one small path set per situation with every model's credits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DAY = 86400.0

# P1 search > email > direct   1 conversion, value 90
# P2 social                    1 conversion, value 30
# P3 email > email > search    2 conversions, value 60 (a repeat)
# P4 direct > direct           1 conversion, value 10 (only direct)
# P5 display > social          0 conversions, 3 nulls
PATHS = [["search", "email", "direct"], ["social"], ["email", "email", "search"], ["direct", "direct"],
         ["display", "social"]]
CONV = [1, 1, 2, 1, 0]
VALUE = [90, 30, 60, 10, 0]
NULLS = [0, 0, 0, 0, 3]
# ages (days before the conversion) for time decay
AGES = [[14, 7, 0], [3], [7, 7, 0], [1, 1], [2, 0]]


def _case(model, transform, conversions, value, **settings):
    return (PATHS, CONV, VALUE, NULLS, AGES, model, settings, transform, conversions, value)


HEURISTIC_CASES = {
    # every path's conversions to its first touch: search P1, social P2, email P3 (x2), direct P4
    "first_touch": _case("first_touch", "unique", {"search": 1, "email": 2, "direct": 1, "social": 1, "display": 0},
                         {"search": 90, "email": 60, "direct": 10, "social": 30, "display": 0}),
    # last touch: direct P1 + P4, social P2, search P3 (x2)
    "last_touch": _case("last_touch", "unique", {"search": 2, "email": 0, "direct": 2, "social": 1, "display": 0},
                        {"search": 60, "email": 0, "direct": 100, "social": 30, "display": 0}),
    # last non-direct: P1 skips direct -> email; P4 is only direct, keeps direct
    "last_non_direct": _case("last_non_direct", "unique",
                             {"search": 2, "email": 1, "direct": 1, "social": 1, "display": 0},
                             {"search": 60, "email": 90, "direct": 10, "social": 30, "display": 0}),
    # linear, every touch (unique: repeats kept): P1 1/3 each (value 30 each); P3 email 2/3 x 2 = 4/3
    # (value 40), search 2/3 (20); P4 direct 1 (10). search 1/3 + 2/3 = 1; email 1/3 + 4/3 = 5/3;
    # direct 1/3 + 1 = 4/3; social 1
    "linear_unique": _case("linear", "unique", {"search": 1, "email": 5 / 3, "direct": 4 / 3, "social": 1, "display": 0},
                           {"search": 50, "email": 70, "direct": 40, "social": 30, "display": 0}),
    # linear after exposure: P3 = email > search (1 each, value 30 each), P4 = direct (1)
    "linear_exposure": _case("linear", "exposure",
                             {"search": 4 / 3, "email": 4 / 3, "direct": 4 / 3, "social": 1, "display": 0},
                             {"search": 60, "email": 60, "direct": 40, "social": 30, "display": 0}),
    # position 40/20/40: P1 search .4 email .2 direct .4; P3 (email, email, search): email .4 + .2, search .4,
    # x2 conversions -> email 1.2, search .8; P4 two touches 50/50 -> direct 1
    "position_based": _case("position_based", "unique",
                            {"search": 1.2, "email": 1.4, "direct": 1.4, "social": 1, "display": 0},
                            {"search": 36 + 24, "email": 18 + 36, "direct": 36 + 10, "social": 30, "display": 0}),
    # 30/40/30: P1 search .3 email .4 direct .3; P3 email .3 + .4, search .3 -> x2: email 1.4, search .6;
    # P4: .3 / (.3 + .3) each = 50/50
    "position_custom": _case("position_based", "unique",
                             {"search": 0.9, "email": 1.8, "direct": 1.3, "social": 1, "display": 0},
                             {"search": 27 + 18, "email": 36 + 42, "direct": 27 + 10, "social": 30, "display": 0},
                             positions=(0.3, 0.4, 0.3)),
    # time decay, half-life 7 days: P1 weights 2^-2, 2^-1, 1 = .25, .5, 1 (sum 1.75) -> 1/7, 2/7, 4/7;
    # P3 .5, .5, 1 -> email .5, search .5, x2 -> 1, 1; P4 equal -> direct 1.
    # search 1/7 + 1, email 2/7 + 1, direct 4/7 + 1, social 1
    "time_decay": _case("time_decay", "unique",
                        {"search": 8 / 7, "email": 9 / 7, "direct": 11 / 7, "social": 1, "display": 0},
                        {"search": 90 / 7 + 30, "email": 180 / 7 + 30, "direct": 360 / 7 + 10, "social": 30,
                         "display": 0}),
    # half-life 1 day on P1: 2^-14, 2^-7, 1
    "time_decay_1d": (PATHS[:1], [1], [90], [0], AGES[:1], "time_decay", {"half_life": DAY}, "unique",
                      {"search": 2 ** -14 / (2 ** -14 + 2 ** -7 + 1), "email": 2 ** -7 / (2 ** -14 + 2 ** -7 + 1),
                       "direct": 1 / (2 ** -14 + 2 ** -7 + 1)},
                      {"search": 90 * 2 ** -14 / (2 ** -14 + 2 ** -7 + 1),
                       "email": 90 * 2 ** -7 / (2 ** -14 + 2 ** -7 + 1), "direct": 90 / (2 ** -14 + 2 ** -7 + 1)}),
}

DATA_DRIVEN_CASES = {
    # order 1: start -> a (2 journeys), b (1); a -> b (1), a -> null (1); b -> conversion (2).
    # P = 2/3 * 1/2 * 1 + 1/3 * 1 = 2/3. Without a: 1/3 (RE 1/2); without b: 0 (RE 1).
    # credits 2 x (1/2) / (3/2) = 2/3 and 2 x 1 / (3/2) = 4/3; value: each state's mean conversion
    # value is b's (10 + 20) / 2, so value splits like conversions: 30 x 1/3, 30 x 2/3
    "markov_order1": ([["a", "b"], ["b"], ["a"]], [1, 1, 0], [10, 20, 0], [0, 0, 1], None, "markov", {"order": 1},
                      "unique", {"a": 2 / 3, "b": 4 / 3}, {"a": 10, "b": 20}),
    # a loop: a > b > a converts, b does not. a: -> b 1/2, -> conversion 1/2; b: -> a 1/2, -> null 1/2;
    # x_a = x_b / 2 + 1/2, x_b = x_a / 2 -> x_a = 2/3, x_b = 1/3; P = (2/3 + 1/3) / 2 = 1/2.
    # without a: 0 (RE 1); without b: x_a = 1/2, P = 1/4 (RE 1/2) -> a 2/3, b 1/3
    "markov_loop": ([["a", "b", "a"], ["b"]], [1, 0], [6, 0], [0, 1], None, "markov", {"order": 1}, "unique",
                    {"a": 2 / 3, "b": 1 / 3}, {"a": 4, "b": 2}),
    # order 2 on a > b > c (1 conversion) and a > c (1 null): states a, a>b, b>c, a>c.
    # P = 1/2; removing any of a, b kills the converting path (RE 1); removing c too (RE 1) -> 1/3 each
    "markov_order2": ([["a", "b", "c"], ["a", "c"]], [1, 0], [9, 0], [0, 1], None, "markov", {"order": 2}, "unique",
                      {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, {"a": 3, "b": 3, "c": 3}),
    # one touch: the channel gets everything from every model
    "markov_one_touch": ([["a"], ["a"]], [1, 0], [5, 0], [0, 1], None, "markov", {}, "unique", {"a": 1}, {"a": 5}),
    # rates r(a) = 1/4, r(b) = 2/4, r(ab) = 3/4, r(c) = 0. {a,b}: phi_a = 1/4 + 3/8 = 5/8,
    # phi_b = 1/2 + 3/8 = 7/8 -> 3 x 5/12 = 1.25 and 3 x 7/12 = 1.75; a = 1 + 1.25, b = 2 + 1.75
    "shapley": ([["a"], ["b"], ["a", "b"], ["c"]], [1, 2, 3, 0], [10, 20, 30, 0], [3, 2, 1, 4], None, "shapley", {},
                "unique", {"a": 2.25, "b": 3.75, "c": 0}, {"a": 10 + 12.5, "b": 20 + 17.5, "c": 0}),
    # ordered: r(a) = 1/2, r(b) = 1/4, r(a>b) = 1, r(b>a) = 0. (a, b): phi_a = 1/2 + 1/2, phi_b = 1/4 + 1/2
    # -> 2 x 4/7 = 8/7 and 2 x 3/7 = 6/7; a = 1 + 8/7, b = 1 + 6/7
    "ordered_shapley": ([["a", "b"], ["b", "a"], ["a"], ["b"]], [2, 0, 1, 1], [14, 0, 1, 1], [0, 2, 1, 3], None,
                        "ordered_shapley", {}, "unique", {"a": 15 / 7, "b": 13 / 7}, {"a": 1 + 8, "b": 1 + 6}),
    # the same paths as sets: {a, b} (a>b and b>a) converts 2 of 4: r = 1/2; phi_a = 1/2 + 1/4,
    # phi_b = 1/4 + 1/4 -> 2 x .6 = 1.2 and .8
    "shapley_of_sequences": ([["a", "b"], ["b", "a"], ["a"], ["b"]], [2, 0, 1, 1], [14, 0, 1, 1], [0, 2, 1, 3], None,
                             "shapley", {}, "unique", {"a": 2.2, "b": 1.8}, {"a": 1 + 14 * 0.6, "b": 1 + 14 * 0.4}),
    # Shao & Li: P(y|a) = 3/4, P(y|b) = 3/6, P(y|a,b) = 1; C(a) = 3/4 + (1 - 3/4 - 1/2) / 2 = 5/8,
    # C(b) = 1/2 - 1/8 = 3/8; {a, b} splits 2 conversions 5:3 -> a 1 + 1.25, b 1 + .75
    "shao_li": ([["a"], ["b"], ["a", "b"]], [1, 1, 2], [1, 1, 8], [1, 3, 0], None, "shao_li", {}, "unique",
                {"a": 2.25, "b": 1.75}, {"a": 1 + 5, "b": 1 + 3}),
}

CASES = {**HEURISTIC_CASES, **DATA_DRIVEN_CASES}

#: Fractribution's example path and what each transform makes of it.
FRACTRIBUTION = list("DABBCDCC")
TRANSFORM_CASES = {
    "exposure": list("DABCDC"),
    "unique": list("DABBCDCC"),
    "first": list("DABC"),
    "frequency": ["D(2)", "A(1)", "B(2)", "C(3)"],
    "remove_if_not_all(D)": list("ABBCCC"),
    "remove-if-not-all(D, C)": list("ABB"),
    "remove_if_last_and_not_all(C)": list("DABBCD"),
    "remove_if_last_and_not_all(C, D)": list("DABB"),
    "exposure;first": list("DABC"),
}

# =====================================================================================================
# Scenario cases: one small path set per situation (one touch, two touches, long paths, repeats with
# and without exposure, direct, only direct, custom direct set, null paths only, mixed with values,
# time decay settings, the frequency transform) and the hand-computed credits of each model on it,
# Markov with its removal effects. Used by test_scenario_case.
#
# Abbreviations in the working: conv = conversions, j = journeys (conv + nulls), x(s) = a Markov
# state's probability to reach (conversion), V(s) = its expected value per journey, RE/VE = removal
# effect on conversions/value, r(T) = a coalition's observed conversion rate, phi = Shapley value,
# C = Shao & Li contribution, d = days. A channel missing from a case's credits must get exactly 0.
# Ages here are seconds (Scenario.ages), not days.
# =====================================================================================================

@dataclass(frozen=True)
class Scenario:
    paths: tuple
    conversions: tuple
    nulls: tuple
    value: tuple
    ages: tuple | None = None
    direct: tuple = ("direct",)


@dataclass(frozen=True)
class Case:
    id: str
    scenario: Scenario
    model: str
    conversions: dict
    value: dict
    settings: dict = field(default_factory=dict)
    transforms: tuple = ()
    #: Markov only: the hand-computed removal effect of every channel.
    removal_effect: dict | None = None


# --- scenarios --------------------------------------------------------------------------------

#: One touch per path: every model gives each path's conversions to its only channel.
ONE_TOUCH = Scenario(
    paths=(("search",), ("email",), ("search",)),
    conversions=(2, 1, 0), nulls=(0, 1, 3), value=(50, 20, 0),
    ages=((0,), (3600,), (100,)),
)

#: Two touches per path, no nulls.
TWO_TOUCH = Scenario(
    paths=(("search", "email"), ("email", "social")),
    conversions=(1, 2), nulls=(0, 0), value=(100, 40),
    ages=((7 * DAY, 0), (14 * DAY, 7 * DAY)),
)

#: Longer paths for position-based (middle touches share the middle part).
LONG = Scenario(
    paths=(("a", "b", "c", "d"), ("a", "b", "c"), ("d",)),
    conversions=(1, 1, 1), nulls=(0, 0, 0), value=(10, 20, 5),
)

#: Repeats: "a > b > b" converts (value 40), "c > b > b" does not. c is never in a converting
#: path. Ages of a > b > b: 2 d, 1 d, 0 (half-life 1 d in the time-decay cases).
REPEATS = Scenario(
    paths=(("a", "b", "b"), ("c", "b", "b")),
    conversions=(1, 0), nulls=(0, 1), value=(40, 0),
    ages=((2 * DAY, DAY, 0), (5, 3, 1)),
)

#: Direct touches: D1 search > direct, D2 direct > direct, D3 direct, D4 email > direct >
#: search > direct > direct, D5 direct > email (3 nulls).
DIRECT = Scenario(
    paths=(("search", "direct"), ("direct", "direct"), ("direct",),
           ("email", "direct", "search", "direct", "direct"), ("direct", "email")),
    conversions=(1, 2, 1, 1, 0), nulls=(0, 0, 0, 0, 3), value=(10, 20, 5, 7, 0),
)

#: Paths that only hit direct: every model must give direct everything.
ONLY_DIRECT = Scenario(
    paths=(("direct",), ("direct", "direct")),
    conversions=(1, 1), nulls=(1, 0), value=(5, 15),
    ages=((60,), (120, 0)),
)

#: Custom direct set: organic counts as direct too.
ORGANIC_DIRECT = Scenario(
    paths=(("paid", "organic", "direct"), ("organic", "direct")),
    conversions=(1, 1), nulls=(0, 0), value=(9, 4),
    direct=("direct", "organic"),
)

#: Nothing converts: every credit is 0.
ALL_NULL = Scenario(
    paths=(("a", "b"), ("b",)),
    conversions=(0, 0), nulls=(3, 1), value=(0, 0),
    ages=((10, 0), (5,)),
)

#: Mixed, with values (e = email, s = search, so = social):
#: P1 s > e (2 conv, 2 nulls, 200), P2 e (1, 3, 30), P3 s (1, 1, 50), P4 so > e (0, 2, 0),
#: P5 e > s (1, 0, 10). Totals: 5 conversions, 13 journeys, value 290.
MIXED = Scenario(
    paths=(("search", "email"), ("email",), ("search",), ("social", "email"), ("email", "search")),
    conversions=(2, 1, 1, 0, 1), nulls=(2, 3, 1, 2, 0), value=(200, 30, 50, 0, 10),
    ages=((7 * DAY, 0), (3600,), (0,), (100, 50), (14 * DAY, 7 * DAY)),
)

#: Time decay with a 2-day half-life and a negative age (counts as 0).
DECAY = Scenario(
    paths=(("x", "y"), ("y", "x")),
    conversions=(1, 1), nulls=(0, 0), value=(10, 20),
    ages=((4 * DAY, 0), (-50, 0)),
)

#: Frequency transform: email > search > email -> email(2) > search(1), reported as email, search.
FREQUENCY = Scenario(
    paths=(("email", "search", "email"),),
    conversions=(1,), nulls=(0,), value=(12,),
)

#: Frequency + last non-direct: email > direct > direct -> email(1) > direct(2);
#: direct > email > direct -> direct(2) > email(1).
FREQUENCY_DIRECT = Scenario(
    paths=(("email", "direct", "direct"), ("direct", "email", "direct")),
    conversions=(1, 1), nulls=(0, 0), value=(6, 8),
)


SCENARIO_CASES: list[Case] = []


def _add(id, scenario, model, conversions, value, **kwargs):
    SCENARIO_CASES.append(Case(id, scenario, model, conversions, value, **kwargs))


# --- one touch --------------------------------------------------------------------------------
# search: 2 conv (value 50) from path 1 (path 3 never converts); email: 1 conv (20). Every touch is
# first, last, non-direct and 100% of its path; time decay normalises one weight to 1; Shapley's
# coalitions {search}, {email} and Shao & Li's contributions only ever split a one-channel path.
for _model in ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based",
               "shapley", "ordered_shapley", "shao_li"):
    _add(f"one_touch-{_model}", ONE_TOUCH, _model, {"search": 2, "email": 1}, {"search": 50, "email": 20})
# Markov (order 1 and 2 are the same chain here: every state is one channel):
# start -> search 5 j (2 + 3), start -> email 2 j; x(search) = 2/5, x(email) = 1/2;
# P = 5/7 * 2/5 + 2/7 * 1/2 = 3/7. Without search P = 1/7: RE = 1 - (1/7)/(3/7) = 2/3;
# without email P = 2/7: RE = 1/3. Shares 2/3, 1/3 of 3 conv -> 2, 1.
# Value: V(search) = 50/5 = 10, V(email) = 20/2 = 10, V = 10; without search V = 2/7 * 10:
# VE = 5/7; without email V = 5/7 * 10: VE = 2/7 -> 70 * 5/7 = 50, 70 * 2/7 = 20.
for _order in (1, 2):
    _add(f"one_touch-markov{_order}", ONE_TOUCH, "markov", {"search": 2, "email": 1}, {"search": 50, "email": 20},
         settings={"order": _order}, removal_effect={"search": 2 / 3, "email": 1 / 3})

# --- two touches ------------------------------------------------------------------------------
# P1 search > email (1 conv, 100), P2 email > social (2 conv, 40).
_add("two_touch-first_touch", TWO_TOUCH, "first_touch", {"search": 1, "email": 2}, {"search": 100, "email": 40})
_add("two_touch-last_touch", TWO_TOUCH, "last_touch", {"email": 1, "social": 2}, {"email": 100, "social": 40})
# Linear: halves. search 1/2 (50); email 1/2 + 2/2 = 3/2 (50 + 20 = 70); social 1 (20).
_LINEAR_TWO = ({"search": 1 / 2, "email": 3 / 2, "social": 1}, {"search": 50, "email": 70, "social": 20})
_add("two_touch-linear", TWO_TOUCH, "linear", *_LINEAR_TWO)
# Position-based 40/20/40 on two touches: 0.4/(0.4+0.4) = 50/50, same as linear.
_add("two_touch-position_based", TWO_TOUCH, "position_based", *_LINEAR_TWO)
# Position-based 60/20/20 on two touches: 0.6/0.8 = 3/4 first, 1/4 last.
# search 3/4 (75); email 1/4 + 2 * 3/4 = 7/4 (25 + 30 = 55); social 2 * 1/4 = 1/2 (10).
_add("two_touch-position_based-60-20-20", TWO_TOUCH, "position_based",
     {"search": 3 / 4, "email": 7 / 4, "social": 1 / 2}, {"search": 75, "email": 55, "social": 10},
     settings={"positions": (0.6, 0.2, 0.2)})
# Position-based 20/60/20: two touches have no middle -> 50/50 again.
_add("two_touch-position_based-20-60-20", TWO_TOUCH, "position_based", *_LINEAR_TWO,
     settings={"positions": (0.2, 0.6, 0.2)})
# Time decay, half-life 7 d: P1 ages 7 d, 0 -> weights 1/2, 1 -> 1/3, 2/3; P2 ages 14 d, 7 d ->
# 1/4, 1/2 -> 1/3, 2/3. search 1/3 (100/3); email 2/3 + 2 * 1/3 = 4/3 (200/3 + 40/3 = 80);
# social 2 * 2/3 = 4/3 (80/3).
_add("two_touch-time_decay", TWO_TOUCH, "time_decay",
     {"search": 1 / 3, "email": 4 / 3, "social": 4 / 3}, {"search": 100 / 3, "email": 80, "social": 80 / 3})
# Markov order 1: start -> search 1, start -> email 2; search -> email 1; email -> conv 1,
# email -> social 2; social -> conv 2. Everything converts: P = 1.
# Without search: only the 2 of 3 starts at email: P = 2/3, RE = 1/3. Without email: P = 0, RE = 1.
# Without social: x(email) = 1/3, P = 1/3 -> RE = 2/3. Total RE 2: shares 1/6, 1/2, 1/3 of 3.
# Value: V(social) = 40/2 = 20; V(email) = 100/3 + 2/3 * 20 = 140/3 = V(search) = V.
# Without search: V = 2/3 * 140/3, VE = 1/3. Without email: VE = 1. Without social:
# V(email) = 100/3 = V, VE = 1 - 100/140 = 2/7. Total VE 34/21: 140 * (7/21, 21/21, 6/21) / (34/21).
_add("two_touch-markov1", TWO_TOUCH, "markov",
     {"search": 1 / 2, "email": 3 / 2, "social": 1}, {"search": 490 / 17, "email": 1470 / 17, "social": 420 / 17},
     settings={"order": 1}, removal_effect={"search": 1 / 3, "email": 1, "social": 2 / 3})
# Markov order 2: start -> (search) 1 -> (search, email) -> conv 1; start -> (email) 2 ->
# (email, social) -> conv 2. RE as in order 1 (1/3, 1, 2/3). Value: V(search, email) = 100,
# V(email, social) = 20, V = 140/3. Without search V = 40/3: VE = 5/7; without email VE = 1;
# without social V = 100/3: VE = 2/7. Total VE 2: 140 * (5/14, 7/14, 2/14) = 50, 70, 20.
_add("two_touch-markov2", TWO_TOUCH, "markov",
     {"search": 1 / 2, "email": 3 / 2, "social": 1}, {"search": 50, "email": 70, "social": 20},
     settings={"order": 2}, removal_effect={"search": 1 / 3, "email": 1, "social": 2 / 3})
# Shapley: coalitions {email, search} (r = 1) and {email, social} (r = 1); no single channel is
# observed, so each pair splits 1/2, 1/2: same as linear. Ordered: (search, email), (email,
# social), the same.
_add("two_touch-shapley", TWO_TOUCH, "shapley", *_LINEAR_TWO)
_add("two_touch-ordered_shapley", TWO_TOUCH, "ordered_shapley", *_LINEAR_TWO)
# Shao & Li: P(y|c) = 1 for each c, pair rates 1. C(search) = 1 + 1/2 (1 - 1 - 1) = 1/2;
# C(email) = 1 + 1/4 ((1 - 1 - 1) + (1 - 1 - 1)) = 1/2; C(social) = 1/2: equal -> linear.
_add("two_touch-shao_li", TWO_TOUCH, "shao_li", *_LINEAR_TWO)

# --- longer paths, position-based ---------------------------------------------------------------
# a > b > c > d (1, 10): 0.4, 0.1, 0.1, 0.4; a > b > c (1, 20): 0.4, 0.2, 0.4; d (1, 5): 1.
# a 0.8 (4 + 8 = 12); b 0.3 (1 + 4 = 5); c 0.5 (1 + 8 = 9); d 1.4 (4 + 5 = 9).
_add("long-position_based", LONG, "position_based",
     {"a": 0.8, "b": 0.3, "c": 0.5, "d": 1.4}, {"a": 12, "b": 5, "c": 9, "d": 9})
# 30/40/30: a > b > c > d: 0.3, 0.2, 0.2, 0.3; a > b > c: 0.3, 0.4, 0.3; d: 1.
# a 0.6 (3 + 6 = 9); b 0.6 (2 + 8 = 10); c 0.5 (2 + 6 = 8); d 1.3 (3 + 5 = 8).
_add("long-position_based-30-40-30", LONG, "position_based",
     {"a": 0.6, "b": 0.6, "c": 0.5, "d": 1.3}, {"a": 9, "b": 10, "c": 8, "d": 8},
     settings={"positions": (0.3, 0.4, 0.3)})
# 50/0/50: middles get nothing. a 1/2 + 1/2 = 1 (5 + 10); c 1/2 (10); d 1/2 + 1 (5 + 5).
_add("long-position_based-50-0-50", LONG, "position_based",
     {"a": 1, "b": 0, "c": 0.5, "d": 1.5}, {"a": 15, "b": 0, "c": 10, "d": 10},
     settings={"positions": (0.5, 0.0, 0.5)})
# 100/0/0 is first touch (a two-touch path would get 1/(1+0) = 100% first too).
_add("long-position_based-100-0-0", LONG, "position_based", {"a": 2, "d": 1}, {"a": 30, "d": 5},
     settings={"positions": (1.0, 0.0, 0.0)})
# Linear: a > b > c > d quarters (2.5 each), a > b > c thirds (20/3 each), d whole.
_add("long-linear", LONG, "linear",
     {"a": 1 / 4 + 1 / 3, "b": 1 / 4 + 1 / 3, "c": 1 / 4 + 1 / 3, "d": 1 / 4 + 1},
     {"a": 2.5 + 20 / 3, "b": 2.5 + 20 / 3, "c": 2.5 + 20 / 3, "d": 2.5 + 5})

# --- repeats ------------------------------------------------------------------------------------
# a > b > b converts (1, value 40); c > b > b does not (1 null).
_add("repeats-first_touch", REPEATS, "first_touch", {"a": 1}, {"a": 40})
_add("repeats-last_touch", REPEATS, "last_touch", {"b": 1}, {"b": 40})
_add("repeats-last_non_direct", REPEATS, "last_non_direct", {"b": 1}, {"b": 40})
# Linear, every touch: a 1/3, b 2/3. After exposure (a > b): 1/2 each.
_add("repeats-linear", REPEATS, "linear", {"a": 1 / 3, "b": 2 / 3}, {"a": 40 / 3, "b": 80 / 3})
_add("repeats-linear-exposure", REPEATS, "linear", {"a": 1 / 2, "b": 1 / 2}, {"a": 20, "b": 20},
     transforms=("exposure",))
# Position-based, three touches: a 0.4, b 0.2 + 0.4 = 0.6. After exposure two touches: 50/50.
_add("repeats-position_based", REPEATS, "position_based", {"a": 0.4, "b": 0.6}, {"a": 16, "b": 24})
_add("repeats-position_based-exposure", REPEATS, "position_based", {"a": 0.5, "b": 0.5}, {"a": 20, "b": 20},
     transforms=("exposure",))
# Time decay, half-life 1 d: ages 2 d, 1 d, 0 -> 1/4, 1/2, 1 (sum 7/4): a 1/7, b 6/7.
_add("repeats-time_decay", REPEATS, "time_decay", {"a": 1 / 7, "b": 6 / 7}, {"a": 40 / 7, "b": 240 / 7},
     settings={"half_life": DAY})
# Exposure collapses the b run into one touch with the run's latest age (0 d): a 2 d, b 0 d -> 1/4, 1:
# a 1/5, b 4/5.
_add("repeats-time_decay-exposure", REPEATS, "time_decay", {"a": 1 / 5, "b": 4 / 5}, {"a": 8, "b": 32},
     settings={"half_life": DAY}, transforms=("exposure",))
# Markov order 1: start -> a 1, start -> c 1; a -> b 1; c -> b 1; b -> b 2 (self-loops), b -> conv 1,
# b -> null 1. Self-loops do not change where b exits: x(b) = 1/2 = x(a) = x(c), P = 1/2.
# Without a: P = 1/4, RE 1/2; without c: RE 1/2; without b: RE 1. Shares 1/4, 1/2, 1/4.
# Value: V(b) = 40/4 + 1/2 V(b) -> V(b) = 20 = V, same shares: 10, 20, 10. c never converts
# yet gets 1/4: the order-1 chain forgets that journeys through c never convert.
# Exposure (a > b, c > b) only drops the self-loops: the same.
for _transforms in ((), ("exposure",)):
    _add("repeats-markov1" + "-exposure" * bool(_transforms), REPEATS, "markov",
         {"a": 1 / 4, "b": 1 / 2, "c": 1 / 4}, {"a": 10, "b": 20, "c": 10},
         settings={"order": 1}, transforms=_transforms, removal_effect={"a": 1 / 2, "b": 1, "c": 1 / 2})
# Markov order 2, every touch: (a) -> (a, b) -> (b, b) -> conv; (c) -> (c, b) -> (b, b) -> null.
# x(b, b) = 1/2, so as in order 1: RE a 1/2, b 1, c 1/2 -> 1/4, 1/2, 1/4 (value 10, 20, 10).
_add("repeats-markov2", REPEATS, "markov", {"a": 1 / 4, "b": 1 / 2, "c": 1 / 4}, {"a": 10, "b": 20, "c": 10},
     settings={"order": 2}, removal_effect={"a": 1 / 2, "b": 1, "c": 1 / 2})
# Markov order 2 after exposure: (a) -> (a, b) -> conv (x = 1); (c) -> (c, b) -> null (x = 0).
# P = 1/2. Without a: P = 0, RE 1; without b: RE 1; without c: P = 1/2, RE 0. -> 1/2, 1/2, 0.
_add("repeats-markov2-exposure", REPEATS, "markov", {"a": 1 / 2, "b": 1 / 2, "c": 0}, {"a": 20, "b": 20, "c": 0},
     settings={"order": 2}, transforms=("exposure",), removal_effect={"a": 1, "b": 1, "c": 0})
# Shapley: coalitions {a, b} (r = 1/1) and {b, c} (r = 0/1). {a, b} has no observed proper
# sub-coalition: phi = 1/2, 1/2. Coalitions are sets, so exposure changes nothing.
# Ordered: (a, b) r = 1 and (c, b) r = 0: the same.
for _model in ("shapley", "ordered_shapley"):
    for _transforms in ((), ("exposure",)):
        _add(f"repeats-{_model}" + "-exposure" * bool(_transforms), REPEATS, _model,
             {"a": 1 / 2, "b": 1 / 2, "c": 0}, {"a": 20, "b": 20, "c": 0}, transforms=_transforms)
# Shao & Li: P(y|a) = 1/1, P(y|b) = 1/2, P(y|c) = 0/1; pair rates (a, b) = 1, (b, c) = 0.
# C(a) = 1 + 1/2 (1 - 1 - 1/2) = 3/4; C(b) = 1/2 + 1/4 ((1 - 1/2 - 1) + (0 - 1/2 - 0)) = 1/4;
# C(c) = 0 + 1/2 (0 - 0 - 1/2) < 0 -> 0. {a, b} splits 3/4 : 1/4 -> a 3/4 (30), b 1/4 (10).
for _transforms in ((), ("exposure",)):
    _add("repeats-shao_li" + "-exposure" * bool(_transforms), REPEATS, "shao_li",
         {"a": 3 / 4, "b": 1 / 4, "c": 0}, {"a": 30, "b": 10, "c": 0}, transforms=_transforms)

# --- direct ---------------------------------------------------------------------------------------
# D1 search > direct (1, 10), D2 direct > direct (2, 20), D3 direct (1, 5),
# D4 email > direct > search > direct > direct (1, 7), D5 direct > email (0; 3 nulls).
# Last non-direct: D1 -> search, D2 and D3 only direct -> keep direct, D4 -> search.
_LND = ({"search": 2, "direct": 3, "email": 0}, {"search": 17, "direct": 25, "email": 0})
_add("direct-last_non_direct", DIRECT, "last_non_direct", *_LND)
# ... the same as last touch after remove_if_last_and_not_all(direct).
_add("direct-last_touch-remove_if_last_and_not_all", DIRECT, "last_touch", *_LND,
     transforms=("remove_if_last_and_not_all(direct)",))
# Last touch: every converting path ends on direct: 5 (42).
_add("direct-last_touch", DIRECT, "last_touch", {"direct": 5}, {"direct": 42})
# First touch: D1 search (1, 10); D2, D3 direct (3, 25); D4 email (1, 7).
_add("direct-first_touch", DIRECT, "first_touch", {"search": 1, "direct": 3, "email": 1},
     {"search": 10, "direct": 25, "email": 7})
# Linear: D1 1/2 search, 1/2 direct (5, 5); D2 direct 2 (20); D3 direct 1 (5); D4 fifths: email
# 1/5, direct 3/5, search 1/5 (7/5, 21/5, 7/5). search 7/10 (32/5), direct 41/10 (171/5),
# email 1/5 (7/5).
_add("direct-linear", DIRECT, "linear", {"search": 7 / 10, "direct": 41 / 10, "email": 1 / 5},
     {"search": 32 / 5, "direct": 171 / 5, "email": 7 / 5})
# Linear after remove_if_not_all(direct): D1 search (1, 10); D2, D3 stay direct (3, 25);
# D4 email > search (1/2, 1/2: 3.5, 3.5).
_add("direct-linear-remove_if_not_all", DIRECT, "linear", {"search": 3 / 2, "direct": 3, "email": 1 / 2},
     {"search": 13.5, "direct": 25, "email": 3.5}, transforms=("remove_if_not_all(direct)",))
# Custom direct set {direct, organic}: paid > organic > direct -> paid (1, 9); organic > direct
# is only direct-like -> keeps its last touch, direct (1, 4).
_add("organic_direct-last_non_direct", ORGANIC_DIRECT, "last_non_direct",
     {"paid": 1, "direct": 1, "organic": 0}, {"paid": 9, "direct": 4, "organic": 0})
# Frequency then last non-direct: email(1) > direct(2) -> email; direct(2) > email(1) -> email.
# direct(2) counts as direct; credits reported under email and direct.
_add("frequency_direct-last_non_direct", FREQUENCY_DIRECT, "last_non_direct", {"email": 2, "direct": 0},
     {"email": 14, "direct": 0}, transforms=("frequency",))

# --- only direct: every model gives direct all 2 conversions (value 20) ------------------------
# Markov: one channel, removing it loses everything: RE 1, share 1.
for _model in ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based",
               "shapley", "ordered_shapley", "shao_li"):
    _add(f"only_direct-{_model}", ONLY_DIRECT, _model, {"direct": 2}, {"direct": 20})
for _order in (1, 2):
    _add(f"only_direct-markov{_order}", ONLY_DIRECT, "markov", {"direct": 2}, {"direct": 20},
         settings={"order": _order}, removal_effect={"direct": 1})

# --- null paths only: nothing to credit -----------------------------------------------------------
# Markov: P(conversion) = 0, so no removal effect is defined: RE 0.
for _model in ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based",
               "shapley", "ordered_shapley", "shao_li"):
    _add(f"all_null-{_model}", ALL_NULL, _model, {"a": 0, "b": 0}, {"a": 0, "b": 0})
for _order in (1, 2):
    _add(f"all_null-markov{_order}", ALL_NULL, "markov", {"a": 0, "b": 0}, {"a": 0, "b": 0},
         settings={"order": _order}, removal_effect={"a": 0, "b": 0})

# --- mixed, with values ---------------------------------------------------------------------------
# P1 s > e (2 conv, 2 nulls, 200), P2 e (1, 3, 30), P3 s (1, 1, 50), P4 so > e (0, 2, 0),
# P5 e > s (1, 0, 10).
# First touch: s = P1 + P3 = 3 (250); e = P2 + P5 = 2 (40); so 0.
_add("mixed-first_touch", MIXED, "first_touch", {"search": 3, "email": 2, "social": 0},
     {"search": 250, "email": 40, "social": 0})
# Last touch (and last non-direct, no direct here): e = P1 + P2 = 3 (230); s = P3 + P5 = 2 (60).
for _model in ("last_touch", "last_non_direct"):
    _add(f"mixed-{_model}", MIXED, _model, {"search": 2, "email": 3, "social": 0},
         {"search": 60, "email": 230, "social": 0})
# Linear (= position-based: no path is longer than 2): P1 1 each (100 each), P2 e (30), P3 s (50),
# P5 1/2 each (5 each). s 5/2 (155), e 5/2 (135).
for _model in ("linear", "position_based"):
    _add(f"mixed-{_model}", MIXED, _model, {"search": 5 / 2, "email": 5 / 2, "social": 0},
         {"search": 155, "email": 135, "social": 0})
# Time decay (7 d): P1 ages 7 d, 0 -> s 1/3, e 2/3 (conv 2/3, 4/3; value 200/3, 400/3); P2 e;
# P3 s; P5 ages 14 d, 7 d -> e 1/3, s 2/3 (value 10/3, 20/3).
# s 2/3 + 1 + 2/3 = 7/3 (200/3 + 50 + 20/3 = 370/3); e 4/3 + 1 + 1/3 = 8/3 (400/3 + 30 + 10/3 = 500/3).
_add("mixed-time_decay", MIXED, "time_decay", {"search": 7 / 3, "email": 8 / 3, "social": 0},
     {"search": 370 / 3, "email": 500 / 3, "social": 0})
# Markov order 1. start -> s 6 (P1 4 + P3 2), -> e 5 (P2 4 + P5 1), -> so 2 (P4).
# s: -> e 4, conv 2, null 1 (of 7); e: -> s 1, conv 3, null 7 (of 11); so: -> e 2.
# x(s) = 4/7 x(e) + 2/7; x(e) = 1/11 x(s) + 3/11 -> x(e) = 23/73, x(s) = 34/73, x(so) = x(e).
# P = (6 * 34 + 5 * 23 + 2 * 23) / (13 * 73) = 5/13.
# Without s: x(e) = 3/11, P = 7 * 3/11 / 13 = 21/143, RE = 1 - 21/55 = 34/55.
# Without e: x(s) = 2/7, P = 6 * 2/7 / 13 = 12/91, RE = 1 - 12/35 = 23/35.
# Without so: P = (6 * 34 + 5 * 23) / 949 = 319/949, RE = 1 - 319/365 = 46/365.
# Value: V(s) = 4/7 V(e) + 60/7, V(e) = 1/11 V(s) + 230/11 -> V(e) = 1670/73, V(s) = 1580/73,
# V = 290/13. Without s: V(e) = 230/11, V = 1610/143, VE = 158/319. Without e: V(s) = 60/7,
# V = 360/91, VE = 167/203. Without so: V = 17830/949, VE = 334/2117.
_RE1 = {"search": 34 / 55, "email": 23 / 35, "social": 46 / 365}
_VE1 = {"search": 158 / 319, "email": 167 / 203, "social": 334 / 2117}
_add("mixed-markov1", MIXED, "markov",
     {c: 5 * e / sum(_RE1.values()) for c, e in _RE1.items()},
     {c: 290 * e / sum(_VE1.values()) for c, e in _VE1.items()},
     settings={"order": 1}, removal_effect=_RE1)
# Markov order 2. (s): -> (s, e) 4, conv 1, null 1; (s, e): conv 2, null 2; (e): -> (e, s) 1,
# conv 1, null 3; (e, s): conv 1; (so) -> (so, e): null 2.
# x(s) = 4/6 * 1/2 + 1/6 = 1/2; x(e) = 1/5 + 1/5 = 2/5; x(so) = 0; P = (3 + 2) / 13 = 5/13.
# Without s: x(e) = 1/5, P = 1/13, RE 4/5. Without e: x(s) = 1/6, P = 1/13, RE 4/5.
# Without so: RE 0. -> 5/2, 5/2, 0.
# Value: V(s, e) = 50, V(s) = 4/6 * 50 + 50/6 = 125/3; V(e, s) = 10, V(e) = 10/5 + 30/5 = 8;
# V = (250 + 40) / 13. Without s: V = 30/13, VE 26/29; without e: V = 50/13, VE 24/29.
# -> 290 * 26/50 = 150.8, 290 * 24/50 = 139.2.
_add("mixed-markov2", MIXED, "markov", {"search": 5 / 2, "email": 5 / 2, "social": 0},
     {"search": 150.8, "email": 139.2, "social": 0},
     settings={"order": 2}, removal_effect={"search": 4 / 5, "email": 4 / 5, "social": 0})
# Shapley: r({e, s}) = (2 + 1) / (4 + 1) = 3/5 (P1 and P5: value 210), r({e}) = 1/4, r({s}) = 1/2,
# r({e, so}) = 0. {e, s}: phi(e) = 1/4 + 3/10 = 11/20, phi(s) = 1/2 + 3/10 = 16/20 -> 11/27,
# 16/27 of 3 conv and 210. e = 33/27 + 1 (P2) = 20/9, value 210 * 11/27 + 30 = 1040/9;
# s = 48/27 + 1 (P3) = 25/9, value 210 * 16/27 + 50 = 1570/9.
_add("mixed-shapley", MIXED, "shapley", {"search": 25 / 9, "email": 20 / 9, "social": 0},
     {"search": 1570 / 9, "email": 1040 / 9, "social": 0})
# Ordered Shapley: r(s, e) = 2/4 (value 200), r(e, s) = 1/1 (value 10), r(e) = 1/4, r(s) = 1/2,
# r(so, e) = 0. (s, e): observed subsequences (s), (e), (s, e): phi(s) = 1/2 + 1/4 = 3/4,
# phi(e) = 1/4 + 1/4 = 1/2 -> 3/5, 2/5: s 6/5 (120), e 4/5 (80). (e, s): (e), (s), (e, s):
# phi(e) = 1/4 + 1/2 = 3/4, phi(s) = 1/2 + 1/2 = 1 -> 3/7, 4/7: e 3/7 (30/7), s 4/7 (40/7).
# e = 4/5 + 3/7 + 1 = 78/35 (80 + 30/7 + 30 = 800/7); s = 6/5 + 4/7 + 1 = 97/35 (170 + 40/7 = 1230/7).
_add("mixed-ordered_shapley", MIXED, "ordered_shapley", {"search": 97 / 35, "email": 78 / 35, "social": 0},
     {"search": 1230 / 7, "email": 800 / 7, "social": 0})
# Shao & Li: P(y|e) = (2 + 1 + 0 + 1) / (4 + 4 + 2 + 1) = 4/11; P(y|s) = (2 + 1 + 1) / (4 + 2 + 1)
# = 4/7; P(y|so) = 0. Pairs: (e, s) = 3/5, (e, so) = 0. N(e) = 2, N(s) = N(so) = 1.
# C(e) = 4/11 + 1/4 ((3/5 - 4/11 - 4/7) + (0 - 4/11 - 0)) = 4/11 - 269/1540 = 291/1540;
# C(s) = 4/7 + 1/2 (3/5 - 4/11 - 4/7) = 4/7 - 129/770 = 622/1540; C(so) = -2/11 -> 0.
# {e, s} (3 conv, 210) splits 291 : 622 (of 913); P2 -> e, P3 -> s.
_add("mixed-shao_li", MIXED, "shao_li", {"search": 1 + 3 * 622 / 913, "email": 1 + 3 * 291 / 913, "social": 0},
     {"search": 50 + 210 * 622 / 913, "email": 30 + 210 * 291 / 913, "social": 0})

# --- time decay: half-life and negative ages -----------------------------------------------------
# Half-life 2 d. x > y, ages 4 d, 0: 1/4, 1 -> x 1/5, y 4/5 (2, 8). y > x, ages -50 (-> 0), 0:
# 1, 1 -> 1/2 each (10, 10). x 7/10 (12), y 13/10 (18).
_add("decay-time_decay-2d", DECAY, "time_decay", {"x": 7 / 10, "y": 13 / 10}, {"x": 12, "y": 18},
     settings={"half_life": 2 * DAY})

# --- frequency transform: credits roll up to the channel -----------------------------------------
# Without a transform, linear: email 2/3 (8), search 1/3 (4). After frequency (email(2) >
# search(1)): 1/2 each (6, 6), reported under email and search. First touch: email.
# Markov order 1 on one path of two states: each removal loses it: RE 1, 1 -> 1/2 each.
# Shapley: the only coalition {email(2), search(1)}: 1/2 each.
_add("frequency-linear", FREQUENCY, "linear", {"email": 2 / 3, "search": 1 / 3}, {"email": 8, "search": 4})
for _model, _settings in (("linear", {}), ("position_based", {}), ("markov", {"order": 1}), ("shapley", {}),
                          ("ordered_shapley", {}), ("shao_li", {})):
    _add(f"frequency-{_model}-frequency", FREQUENCY, _model, {"email": 1 / 2, "search": 1 / 2},
         {"email": 6, "search": 6}, settings=_settings, transforms=("frequency",))
_add("frequency-first_touch-frequency", FREQUENCY, "first_touch", {"email": 1, "search": 0}, {"email": 12, "search": 0},
     transforms=("frequency",))
