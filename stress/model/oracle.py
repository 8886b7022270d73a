"""Checks a reference holder makes when it uses a page (harness oracles, not kernel code)."""

from __future__ import annotations

from stress.anomalies import Kind
from stress.model.machine import Machine, Op
from stress.model.page_ref import page_ref_count


def page_use(m: Machine, p: int, gen: int, op: str) -> bool:
    """A holder touches a page it took at generation `gen`: was it freed and reused?"""
    if not m.checks:
        return True
    now = m.gen(p)
    if now == gen:
        return True
    if m.tracing:
        m.trace(Op.use, p, gen, now, 0, 0)
    m.report(Kind.USE_AFTER_FREE, p, op, refcount=page_ref_count(m, p),
             reason=f"held since generation {gen}, page is now generation {now}", held_gen=gen)
    return False
