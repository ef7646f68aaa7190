"""ASH-Nets (arXiv 2308.09455): config (``config``), model (``model``), spiking neurons
(``neurons``), data sets (``data``), objectives (``objectives``), training (``train``),
evaluation (``evaluate``), checkpoints (``checkpoint``) and the registered workloads the profiler
runs (``workloads``)."""
