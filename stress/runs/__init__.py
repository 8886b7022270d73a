"""What both engines share about a run: its plan, its directory and logs, its admission,
and the forkserver its processes start from.

Below `processes` (the stress engine) and `explore` (the explorer), which are siblings
and never import each other.
"""
