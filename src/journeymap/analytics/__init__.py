"""Analytics: pure functions, Ibis table(s) in -> Ibis table out. No I/O, no printing."""
