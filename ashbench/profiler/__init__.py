"""The exact, hybrid-aware efficiency profiler (see ``counts.py`` for every definition).

``profile`` and ``Profile`` are imported on first use, so that the torch-free parts of the
profiler (``counts``, ``result``) can be imported without torch.
"""

__all__ = ["Profile", "profile"]


def __getattr__(name: str):
    if name == "profile":
        from ashbench.profiler.engine import profile

        return profile
    if name == "Profile":
        from ashbench.profiler.result import Profile

        return Profile
    raise AttributeError(f"module 'ashbench.profiler' has no attribute {name!r}")
