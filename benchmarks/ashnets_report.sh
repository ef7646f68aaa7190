#!/usr/bin/env bash
# Tables and figures of results/ashnets/ from the sweep's runs.csv and the embedded default model.
# Run after `ashbench sweep benchmarks/ashnets.toml --jobs 2` (in the repository root, venv active
# or ashbench on PATH).
set -euo pipefail
out=results/ashnets
ashbench table $out/runs.csv --baseline mode=ann -f markdown -o $out/table_45nm_fp32.md
ashbench table $out/runs.csv --baseline mode=ann -e memory-aware -f markdown -o $out/table_memory_aware.md
ashbench table $out/runs.csv --baseline mode=ann -f csv -o $out/table_45nm_fp32.csv
ashbench plot pareto $out/runs.csv -o $out/accuracy_vs_energy
ashbench plot pareto $out/runs.csv -e memory-aware -o $out/accuracy_vs_energy_memory_aware
ashbench plot breakdown $out/runs.csv -e memory-aware -o $out/energy_breakdown_memory_aware
ashbench plot breakdown $out/runs.csv -e 45nm-fp32 -o $out/energy_breakdown_45nm_fp32
ashbench energy -m ashnet -e 45nm-fp32 -e memory-aware -f json -o $out/ashnet_default_profile.json
ashbench energy -m ashnet -e 45nm-fp32 -e memory-aware -f markdown -o $out/ashnet_default_profile.md
ashbench plot sparsity $out/ashnet_default_profile.json -o $out/sparsity
ashbench plot raster -m ashnet -o $out/raster
ashbench report $out -o $out/report.html
