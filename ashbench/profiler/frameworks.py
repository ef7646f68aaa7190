"""Neuron frameworks besides spikingjelly, each one ``NEURON_TYPES`` entry (optional packages:
an entry whose package is not installed recognises nothing)."""
