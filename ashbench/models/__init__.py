"""Models to profile: the registry (``registry``), resolving a name or ``file.py:factory`` into a
Workload (``factory``), and the built-in models, registered on import of this package."""

from ashbench.ashnet import workloads  # noqa: F401  (registers ashnet, test-ashnet-tiny, test-ashnet-tiny-snn)
from ashbench.models import field_zoo, hybrid_demo  # noqa: F401  (register field-*, hybrid-demo, test-hybrid-tiny)
from ashbench.models.registry import MODELS, Workload, register_model

__all__ = ["MODELS", "Workload", "list_models", "register_model"]


def list_models() -> list[str]:
    return MODELS.names()
