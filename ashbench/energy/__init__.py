"""Energy models: per-operation and memory-traffic energies applied to a profile (no torch import).

``estimate_energy(profile_dict, "45nm-fp32")`` prices a :meth:`Profile.to_dict` document. The
kinds of model (``ENERGY_KINDS``: ``compute``, ``memory-aware``), the built-in models (TOML files
in ``ashbench/energy/profiles/``) and the keys of a user TOML file are in
:mod:`ashbench.energy.models`.
"""

from ashbench.energy.models import (
    ENERGY_KINDS,
    ComputeModel,
    EnergyModel,
    MemoryAwareModel,
    estimate_energy,
    get_energy_model,
    list_energy_models,
    load_energy_model_file,
)

__all__ = ["ENERGY_KINDS", "ComputeModel", "EnergyModel", "MemoryAwareModel", "estimate_energy", "get_energy_model",
           "list_energy_models", "load_energy_model_file"]
