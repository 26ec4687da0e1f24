"""Hand-computed attribution cases: small path sets and the credits every model must give.

Each case is (paths, conversions, value, nulls, ages in days or None, model, settings, transform,
expected conversions by channel, expected value by channel). The arithmetic is in the comments.
"""

from __future__ import annotations

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
