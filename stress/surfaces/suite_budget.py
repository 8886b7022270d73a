"""How a suite's time budget is shared among its runs.

Racing gets `RACING_SHARE` of the budget; starting workers, audits and the drain take
the rest.  Every run is promised an even share of the racing time, and the time a run
leaves unused flows on to the runs after it:

- a run whose verdict its first detection settles
  (`Expect.decided_at_first_detection`) stops at that detection, and may race on past
  its scenario's duration into the time earlier runs left, up to `EXTEND` times its
  promised share.  A loaded machine that slows its race then costs it time, not its
  verdict.
- any other run races its scenario's duration, cut to an even share of what is left.
- a run bounded by `ops` races to its count; the share only bounds it (budget-overrun).

No run is ever given less than its promised share, so what one run takes never
starves the runs after it.  Pure bookkeeping: the runner reports each run's racing
time with `spent`, and the tests drive it with made-up times.
"""

from __future__ import annotations

from dataclasses import dataclass

from stress.scenario import Scenario

RACING_SHARE = 0.6
EXTEND = 4.0


@dataclass(frozen=True)
class Allowance:
    """One run's terms: the scenario as it will race, its racing bound, and whether it
    stops at its first detection."""

    scenario: Scenario
    budget: float | None  # racing bound before budget-overrun; None: the default
    until_detected: bool


class SuiteBudget:
    def __init__(self, budget: float, runs: int) -> None:
        if budget <= 0 or runs <= 0:
            raise ValueError(f"a budget of {budget} s for {runs} runs")
        self.racing = budget * RACING_SHARE
        self.runs = runs
        self.promised = self.racing / runs
        self.used = 0.0
        self.started = 0

    def next(self, scn: Scenario) -> Allowance:
        """The terms of the next run (runs are taken in order, each once)."""
        if self.started >= self.runs:
            raise ValueError(f"more than the {self.runs} runs planned")
        left = max(self.racing - self.used, 0.0)
        n = self.runs - self.started
        self.started += 1
        fair = max(left / n, self.promised)
        if scn.run.ops:
            return Allowance(scn, fair, False)
        if scn.expect.decided_at_first_detection:
            surplus = left - (n - 1) * self.promised
            allowed = max(min(scn.run.duration, fair), min(surplus, EXTEND * self.promised))
            return Allowance(scn.with_overrides(duration=allowed), allowed, True)
        duration = min(scn.run.duration, fair)
        return Allowance(scn.with_overrides(duration=duration), duration, False)

    def spent(self, racing_s: float) -> None:
        """What the last run raced, as its summary says."""
        self.used += max(racing_s, 0.0)


def overrun_warning(wall_s: float, budget: float) -> str | None:
    """The line that reports a suite slower than its budget (not a verdict: the machine was
    slower than the budget assumed), or None."""
    if wall_s <= budget:
        return None
    return f"the runs took {wall_s:.1f} s, over the {budget:g} s budget"
