"""Systematic exploration: the stress model under a scheduler that controls every access.

One process runs each actor of a scenario as a greenlet.  The model and roles are
the ones the workers race; only the memory under them differs: a scheduled memory
(`memory.py`) makes every access to a page record or a protected structure a
scheduling point, where the scheduler (`scheduler.py`) asks a strategy
(`strategies/`) which actor goes next.  A schedule is then a list of choices: it
replays exactly (`token.py`), shrinks (`shrink.py`), and a failing one is written as
a run directory like any stress run (`runner.py`).
"""
