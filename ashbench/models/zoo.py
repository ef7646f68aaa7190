"""Imports of the modules that register the built-in models."""

from ashbench.models import ashnet  # noqa: F401
from ashbench.models import hybrid_demo  # noqa: F401
