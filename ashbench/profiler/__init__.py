"""The exact, hybrid-aware efficiency profiler (see ``counts.py`` for every definition)."""

from ashbench.profiler.engine import profile
from ashbench.profiler.result import Profile

__all__ = ["Profile", "profile"]
