"""ashbench: exact efficiency profiling for spiking and hybrid ANN+SNN networks.

The top-level names are imported lazily so that ``ashbench.energy`` and ``ashbench.report.profile_report`` can be
used without importing torch.
"""

from ashbench.errors import AshbenchError

__version__ = "0.1.0"
__all__ = ["AshbenchError", "Profile", "profile", "__version__"]


def __getattr__(name: str):
    if name in ("profile", "Profile"):
        from ashbench import profiler

        return getattr(profiler, name)
    raise AttributeError(f"module 'ashbench' has no attribute {name!r}")
