"""The ``arm`` sweep axis (controlled baselines of ``BASELINES``) and the pairing of arms by seed."""

import pytest
from helpers import run_cli, sweep_spec

from ashbench.ashnet.config import BASELINES, load_config
from ashbench.sweeps.spec import ArmAxis, expand, load_spec


@pytest.mark.parametrize("arm", BASELINES.names())
def test_each_arms_config_is_recognised_as_that_arm(arm):
    cfg = load_config("ashnet-default" if arm == "hybrid" else f"ashnet-{arm}")
    # a widened ANN is only "ann-wide" when a run names it; by its config alone it reads as "ann"
    assert ArmAxis().effective(cfg.to_dict()) == ("ann" if arm == "ann-wide" else arm)


def test_the_wide_ann_is_matched_to_the_sweeps_own_base():
    from ashbench.ashnet.baselines import image_side_params

    small = load_config("ashnet-default", ["model.vision_width=64", "model.snn_width=64", "model.embed_dim=64"])
    width = ArmAxis().overrides("ann-wide", small)["model.vision_width"]
    target = image_side_params(small)
    wide = lambda w: image_side_params(load_config("ashnet-default", [  # noqa: E731
        "model.mode=ann", f"model.vision_width={w}", "model.snn_width=64", "model.embed_dim=64"]))
    # the chosen width (a multiple of the 4 heads) is the closest: its neighbours miss by more
    assert width > 64 and abs(wide(width) - target) <= min(abs(wide(width - 4) - target), abs(wide(width + 4) - target))


def test_the_arm_axis_maps_to_the_baselines_overrides(tmp_path):
    runs = expand(load_spec(str(sweep_spec(tmp_path, 'arm = ["ann", "ann-twin"]\nseed = [0, 1]\n'))))
    assert [r.label for r in runs] == ["arm=ann,seed=0", "arm=ann,seed=1", "arm=ann-twin,seed=0",
                                       "arm=ann-twin,seed=1"]
    assert {"model.mode=\"ann\"", "loss.stua_weight=0.0"} <= set(runs[0].overrides)
    assert {"model.neuron=\"relu\"", "model.timesteps=1"} <= set(runs[2].overrides)


@pytest.mark.parametrize("extra,message", [
    ('arm = ["ann"]\n[[runs]]\narm = "hybrid"\nseed = 0\n',
     "the arms cannot be paired: arm ann has seeds [0, 1], arm hybrid has seeds [0]"),
    ('arm = ["mlp"]\n', "unknown arm 'mlp'; valid: ann, ann-aux, ann-twin, ann-wide, hybrid, snn, snn-conv"),
])
def test_arms_that_cannot_be_paired_fail_before_training(tmp_path, extra, message):
    grid = 'seed = [0, 1]\n' + extra
    result = run_cli("sweep", str(sweep_spec(tmp_path, grid)))
    assert result.exit_code == 2 and result.output == f"error: {message}\n", result.output
    assert not (tmp_path / "results").exists() and not (tmp_path / "runs").exists()


def test_ablations_outside_the_arm_groups_need_no_pairing(tmp_path):
    # T = 1 at seed 0 only is an ablation of the hybrid, not an arm: it is not checked against the arms
    path = sweep_spec(tmp_path, 'arm = ["ann", "hybrid"]\nseed = [0, 1]\n[[runs]]\nT = 1\nseed = 0\n')
    from ashbench.sweeps.spec import validate_runs

    spec = load_spec(str(path))
    validate_runs(spec, expand(spec))


def test_the_ann_wide_preset_holds_the_width_matched_on_the_default():
    from ashbench.ashnet.baselines import arm_overrides

    assert arm_overrides("ann-wide")["model"]["vision_width"] == load_config("ashnet-ann-wide").model.vision_width
