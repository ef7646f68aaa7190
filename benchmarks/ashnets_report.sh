#!/usr/bin/env bash
# Tables and figures of a sweep's results folder from its runs.csv and run folders, and (for the
# reference sweep) the embedded default model. Run in the repository root, venv active or ashbench on PATH:
#   after `ashbench sweep benchmarks/ashnets.toml --jobs 2`:            bash benchmarks/ashnets_report.sh
#   after `ashbench sweep benchmarks/ashnets_converged.toml --jobs 2`:  bash benchmarks/ashnets_report.sh converged
set -euo pipefail
base="arm=hybrid,T=4,neuron=lif,objectives=itc+hn+itm+stua,lambda=0.0"
if [ "${1:-}" = converged ]; then
  out=results/ashnets-converged runs=runs/ashnets-converged extras=no
else
  out=results/ashnets runs=runs/ashnets extras=yes
fi
acc="--metric truth:t2i_r1 --metric truth:i2t_r1 --metric truth:mean_recall --metric hard_negative_accuracy"
acc="$acc --metric comp:truth:t2i_r1 --metric comp:truth:mean_recall --metric comp:hard_negative_accuracy"
kinds=""
for k in relation_flip argument_swap count colour shape size; do kinds="$kinds --metric hn:$k"; done
comp_kinds=""
for k in relation_flip argument_swap count colour shape size; do comp_kinds="$comp_kinds --metric comp:hn:$k"; done
ashbench table $out/runs.csv --baseline $base $acc -f markdown -o $out/table_accuracy.md
ashbench table $out/runs.csv --baseline $base $kinds -f markdown -o $out/table_kinds_test.md
ashbench table $out/runs.csv --baseline $base $comp_kinds -f markdown -o $out/table_kinds_compositional.md
ashbench table $out/runs.csv --baseline $base -f markdown -o $out/table_45nm_fp32.md
ashbench table $out/runs.csv --baseline $base -e memory-aware -f markdown -o $out/table_memory_aware.md
ashbench table $out/runs.csv --baseline $base $acc -f csv -o $out/table_45nm_fp32.csv
ashbench plot pareto $out/runs.csv --metric truth:t2i_r1 -o $out/accuracy_vs_energy
ashbench plot pareto $out/runs.csv --metric truth:t2i_r1 -e memory-aware -o $out/accuracy_vs_energy_memory_aware
ashbench plot breakdown $out/runs.csv -e memory-aware -o $out/energy_breakdown_memory_aware
ashbench plot breakdown $out/runs.csv -e 45nm-fp32 -o $out/energy_breakdown_45nm_fp32
ashbench plot curves $runs -o $out/learning_curves
if [ $extras = no ]; then ashbench report $out -o $out/report.html; exit 0; fi
python benchmarks/scenes_references.py --config ashnet-scenes -o $out/references
ashbench energy -m ashnet -e 45nm-fp32 -e memory-aware -f json -o $out/ashnet_default_profile.json
ashbench energy -m ashnet -e 45nm-fp32 -e memory-aware -f markdown -o $out/ashnet_default_profile.md
ashbench plot sparsity $out/ashnet_default_profile.json -o $out/sparsity
ashbench plot raster -m ashnet -o $out/raster
ashbench report $out -o $out/report.html
