"""Names and definitions of every count the profiler produces (no torch import).

Op counts (per aten op, credited to the module that ran it and all its ancestors):

- ``dense_macs``  multiply-accumulates on dense hardware, bias excluded, counted as fvcore counts
  them: conv = prod(out_shape) * C_in/groups * prod(kernel); linear/mm = rows * in * out;
  bmm = batch * M * K * N; attention = L*S*E (Q.K^T) + L*S*E_v (A.V) per batch and head.
- ``macs``        the part of ``dense_macs`` whose activation operand is real-valued (ANN work).
- ``synops``      synaptic events of spike-valued inputs: for every input event its true fan-out
  (conv: outputs reached given padding/stride/dilation/groups; linear: out_features; matmul: the
  columns it multiplies). Spike x spike products count co-active pairs. Never rate x dense.
- ``elementwise_ops`` one per output element of pointwise ops; reductions one per input element;
  pooling one per window element (out * prod(kernel)), adaptive pooling one per input element;
  softmax one per element; norms as fvcore counts them (batch norm at inference:
  numel * (2 if affine else 1); layer/group norm and training batch norm: numel * (5 if affine else 4)).
- ``weight_read_bytes``   bytes of parameter operands, read once per op call.
- ``activation_read_bytes`` / ``activation_write_bytes``  bytes of non-parameter tensor operands
  read and of outputs written, once per op call (dense storage as PyTorch holds it).

Neuron counts (per spiking-neuron module; the ops inside a neuron are not counted as op work):

- ``neuron_updates``  membrane-state updates: neurons x time steps.
- ``spikes``          events emitted (under the declared spike semantics).
- ``neurons``         neurons per sample;  ``timesteps`` time steps the layer ran.
- ``firing_rate``     spikes / (neurons x timesteps).
- ``membrane_read_bytes`` / ``membrane_write_bytes``  one read and one write of the membrane
  potential per update, at the potential's dtype size.

All counts reported per sample (total / batch size) and summed over all time steps.
"""

OP_FIELDS = (
    "dense_macs",
    "macs",
    "synops",
    "elementwise_ops",
    "weight_read_bytes",
    "activation_read_bytes",
    "activation_write_bytes",
)
NEURON_FIELDS = ("neuron_updates", "spikes", "membrane_read_bytes", "membrane_write_bytes")
ROW_FIELDS = OP_FIELDS + NEURON_FIELDS  # the columns of a raw row (a Profile's whole-batch sums)
ADDITIVE_FIELDS = ROW_FIELDS + ("neurons",)
BRANCHES = ("ann", "snn", "neuron")
