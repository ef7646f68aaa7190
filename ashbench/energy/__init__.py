"""Energy models: per-operation and memory-traffic energies applied to a profile (no torch import).

``estimate_energy(profile_dict, "45nm-fp32")`` prices a :meth:`Profile.to_dict` document; the
built-in models and the kinds a user TOML file can take are in :mod:`ashbench.energy.models`.
"""

from ashbench.energy.models import EnergyModel, estimate_energy, get_energy_model, list_energy_models

__all__ = ["EnergyModel", "estimate_energy", "get_energy_model", "list_energy_models"]
