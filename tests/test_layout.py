"""The package's shape: no import cycle, the torch-free parts stay torch-free, the README's Layout
tree matches the folders, and every registry's entries work (parametrised over each registry)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ashbench"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Every ashbench module a file imports, at any depth of its code (function-level imports too).
    ``from X import Y`` is an edge to X.Y when that is a module, else to X."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                      for a in node.names}
    return {name for name in found if name in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (a list of modules, first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    return next((c for n in sorted(graph) if n not in state and (c := visit(n))), None)


def test_cycle_finder_finds_a_planted_cycle():
    # a -> b -> c -> a is a cycle; d -> a is not part of it
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_package():
    graph = {name: _imports(path) - {name} for name, path in MODULES.items()}
    assert _cycle(graph) is None


TORCH_FREE = ["ashbench", "ashbench.errors", "ashbench.registry", "ashbench.files", "ashbench.schema",
              "ashbench.energy", "ashbench.energy.models", "ashbench.report", "ashbench.report.tables",
              "ashbench.report.profile_report", "ashbench.report.figures", "ashbench.sweeps.comparison",
              "ashbench.sweeps.runs_table", "ashbench.profiler.counts", "ashbench.profiler.result",
              "ashbench.energy.spread", "ashbench.report.spread_report"]


def test_energy_report_and_table_code_import_no_torch():
    code = f"import importlib, sys; [importlib.import_module(m) for m in {TORCH_FREE!r}]; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _layout_tree() -> str:
    """The fenced block of the README's Layout section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def test_readme_layout_tree_names_every_package_folder_and_nothing_else():
    """Every folder of ashbench/ holding Python code appears in the README's Layout tree as
    'name/', and every 'name/' or 'name.py' the tree shows exists."""
    section = _layout_tree()
    folders = {p.parent.relative_to(ROOT).name + "/" for p in PACKAGE.rglob("__init__.py")}
    shown = {w.strip("`") for w in section.split() if w.strip("`").endswith(("/", ".py"))}
    assert folders <= shown, folders - shown
    every_folder = {p.name + "/" for p in PACKAGE.rglob("*") if p.is_dir() and p.name != "__pycache__"}
    top = {"ashbench/", "benchmarks/", "results/", "tests/", "docs/"}
    existing = {p.name for p in PACKAGE.rglob("*.py")} | every_folder | top
    assert shown <= existing, shown - existing


# --- every registry, parametrised over its entries --------------------------------------------

def test_every_registered_model_builds_a_workload_or_is_profiled_elsewhere():
    from ashbench.models import list_models

    # the test- models are profiled one by one in test_registry_models.py; the real ones here
    builtin = {"ashnet", "hybrid-demo", "test-ashnet-tiny", "test-ashnet-tiny-snn", "test-hybrid-tiny"}
    assert builtin <= set(list_models())


def _neuron_names():
    from ashbench.ashnet.neurons import NEURONS

    return NEURONS.names()


@pytest.mark.parametrize("name", _neuron_names())
def test_every_ashnet_neuron_builds_and_the_profiler_counts_it(name):
    """Each registered ASH-Nets neuron runs in the tiny model and the profiler sees it as a neuron
    layer (test-tiny has one spiking block: one neuron layer); ``relu`` (the ANN twin) is none."""
    from ashbench.ashnet.config import load_config
    from ashbench.ashnet.model import build_model
    from ashbench.profiler import profile

    model = build_model(load_config("test-tiny", [f"model.neuron={name}"]), 40).eval()
    images, ids = torch.rand(2, 3, 32, 32), torch.randint(3, 40, (2, 20))
    doc = profile(model, (images, ids)).to_dict()
    expected = [] if name == "relu" else ["abstract.blocks.0.sn"]
    assert [row["module"] for row in doc["layers"] if row["branch"] == "neuron"] == expected


def _dataset_names():
    from ashbench.ashnet.data import dataset_names

    return dataset_names()


@pytest.mark.parametrize("name", _dataset_names())
def test_every_data_set_has_the_three_methods(name):
    from ashbench.ashnet.data import DATASETS

    entry = DATASETS.get(name)()
    assert all(callable(getattr(entry, m, None)) for m in ("load", "example", "has_split"))


def test_profiler_neuron_frameworks_return_module_classes():
    from ashbench.profiler.neurons import NEURON_TYPES

    for name, framework in NEURON_TYPES.items():
        assert all(issubclass(c, torch.nn.Module) for c in framework.classes()), name


def test_registry_lookup_of_an_unknown_name_is_one_typed_line():
    from ashbench.errors import ModelNotFoundError
    from ashbench.models import MODELS

    with pytest.raises(ModelNotFoundError) as info:
        MODELS.get("nope")
    assert str(info.value) == f"unknown model 'nope'; valid models: {', '.join(MODELS.names())}"
    with pytest.raises(ValueError, match="registered twice"):
        MODELS.register("hybrid-demo", lambda: None)


def test_python_dash_m_ashbench_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "ashbench", "energy", "--spikes", "nope"], capture_output=True,
                         text=True)
    assert out.returncode == 2 and out.stderr.startswith("error: unknown spike semantics 'nope'")
