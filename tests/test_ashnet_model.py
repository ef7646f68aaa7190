"""The ASH-Nets model, its registered workloads and its config validation."""

import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import neuron

from ashbench.ashnet.config import PRESETS, config_names, from_dict, load_config, valid_keys, validate
from ashbench.ashnet.data.shapes import build_split
from ashbench.ashnet.model import build_model
from ashbench.ashnet.workloads import DEFAULT_CHECKPOINT
from ashbench.errors import ConfigError, InputError
from ashbench.models import MODELS, list_models
from ashbench.models.registry import Workload, call_factory

get_factory = MODELS.get


def _spikes(model, images):
    """Every neuron layer's spikes of one image forward (the abstract encoder returns them)."""
    with torch.no_grad():
        return model.encode_image(images)["spikes"]


VOCAB = 40


def _inputs(batch=3, size=32, length=20):
    g = torch.Generator().manual_seed(0)
    return torch.rand(batch, 3, size, size, generator=g), torch.randint(3, VOCAB, (batch, length), generator=g)


def test_vl_tiny_workload_runs_the_whole_network_on_test_inputs():
    assert {"ashnet", "test-ashnet-tiny"} <= set(list_models())
    w = call_factory(get_factory("test-ashnet-tiny"), batch_size=5)
    assert isinstance(w, Workload) and w.layout == "B" and not w.model.training
    images, ids = w.inputs
    assert images.shape == (5, 3, 32, 32) and ids.shape == (5, 20)
    expected = build_split(0, "test", 5, image_size=32, captions=1, negatives=0).images.float() / 255
    assert torch.equal(images, expected)
    with torch.no_grad():
        sim = w.model(*w.inputs)
    assert sim.shape == (5, 5) and torch.isfinite(sim).all()
    assert w.info["timesteps"] == 2 and w.info["mode"] == "hybrid"


def test_vl_timesteps_override_and_invalid_values():
    w = call_factory(get_factory("test-ashnet-tiny"), batch_size=2, timesteps=3)
    assert w.model.timesteps == 3
    assert all(s.shape[0] == 3 for s in _spikes(w.model, w.inputs[0]))
    with pytest.raises(InputError):
        call_factory(get_factory("test-ashnet-tiny"), batch_size=2, timesteps=0)
    with pytest.raises(InputError):
        call_factory(get_factory("test-ashnet-tiny"), batch_size=0)


@pytest.mark.parametrize("overrides", [
    [], ["model.neuron=if"], ["model.neuron=plif", "model.surrogate=sigmoid"],
    ["model.encoding=poisson", "model.decoding=weighted"], ["model.snn_attention=true", "model.snn_depth=2"],
    ["model.vision=vit", "model.vision_depth=1"],
])
def test_vl_spiking_branch_emits_binary_spikes(overrides):
    model = build_model(load_config("test-tiny", overrides), VOCAB).eval()
    with torch.no_grad():
        sim = model(*_inputs())
    spikes = _spikes(model, _inputs()[0])
    assert sim.shape == (3, 3) and len(spikes) == len(model.abstract.neuron_names) >= 1
    assert all(((s == 0) | (s == 1)).all() for s in spikes)


def test_vl_neuron_kind_threshold_and_tau_follow_the_config():
    kinds = {"if": neuron.IFNode, "lif": neuron.LIFNode, "plif": neuron.ParametricLIFNode}
    for name, cls in kinds.items():
        model = build_model(load_config("test-tiny", [f"model.neuron={name}", "model.v_threshold=0.7"]), VOCAB)
        sn = model.abstract.get_submodule(model.abstract.neuron_names[0])
        assert isinstance(sn, cls) and sn.v_threshold == 0.7 and sn.step_mode == "m"
    lif = build_model(load_config("test-tiny", ["model.tau=3.0"]), VOCAB).abstract.blocks[0].sn
    assert lif.tau == 3.0


def test_vl_weighted_decoding_has_one_weight_per_step():
    model = build_model(load_config("test-tiny", ["model.decoding=weighted", "model.timesteps=3"]), VOCAB)
    assert model.abstract.step_logits.shape == (3,)
    model.set_timesteps(2)
    with pytest.raises(InputError, match="trained for T=3"):
        model(*_inputs())


def test_vl_hybrid_fusion_is_f_ann_plus_r_times_e_snn():
    model = build_model(load_config("test-tiny"), VOCAB).eval()
    images, _ = _inputs()
    with torch.no_grad():
        tokens, f_ann = model.concrete((images - 0.5) / 0.25)
        e_snn, _, _ = model.abstract(tokens)
        expected = F.normalize(model.image_proj(f_ann + model.r * e_snn), dim=-1)
        assert torch.allclose(model.encode_image(images)["emb"], expected, atol=1e-6)


def test_vl_modes_ann_and_snn_drop_the_other_branch():
    ann = build_model(load_config("test-tiny-ann"), VOCAB)
    snn = build_model(load_config("test-tiny-snn"), VOCAB)
    assert ann.abstract is None and ann.r is None and ann.timesteps is None
    assert snn.r is None and snn.concrete.pool is None and len(snn.concrete.stem.blocks) == 0
    with torch.no_grad():
        assert ann.eval()(*_inputs()).shape == (3, 3) and snn.eval()(*_inputs()).shape == (3, 3)
    assert ann.encode_image(_inputs()[0])["spikes"] == []


def test_vl_same_seed_same_initial_weights():
    cfg = load_config("test-tiny")
    a, b, c = build_model(cfg, VOCAB), build_model(cfg, VOCAB), build_model(cfg, VOCAB, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))


@pytest.mark.parametrize("override, fragment", [
    ("model.timesteps=0", "model.timesteps=0; it must be >= 1"),
    ("model.v_threshold=0", "model.v_threshold=0.0; it must be > 0"),
    ("model.v_threshold=-1", "must be > 0"),
    ("model.snn_width=0", "model.snn_width=0"),
    ("model.vision_width=0", "model.vision_width=0"),
    ("loss.itc_weight=-0.5", "loss.itc_weight=-0.5; it must be >= 0"),
    ("loss.firing_rate_weight=-1", "loss.firing_rate_weight"),
    ("model.neuron=hh", "valid values: if, lif, plif, relu"),
    ("model.timesteps=two", "needs a int"),
    ("model.timesteps", "is not key=value"),
    # non-finite floats are errors (NaN passed every >= bound before)
    ("train.lr=inf", "invalid train.lr=inf; it must be finite"),
    ("train.weight_decay=nan", "invalid train.weight_decay=nan; it must be finite"),
    ("model.r_init=nan", "invalid model.r_init=nan; it must be finite"),
    ("loss.temperature_init=inf", "invalid loss.temperature_init=inf; it must be finite"),
    ("loss.itc_weight=nan", "invalid loss.itc_weight=nan; it must be finite"),
    # booleans are strict: 2 (or 1) is not True; ints take no fractions and no booleans
    ("model.snn_attention=2", "invalid model.snn_attention=2; it needs a bool"),
    ("model.snn_attention=1", "invalid model.snn_attention=1; it needs a bool"),
    ("model.timesteps=2.5", "invalid model.timesteps=2.5; it needs a int"),
    ("model.timesteps=true", "invalid model.timesteps=True; it needs a int"),
    # choices: Literal fields and the neuron, surrogate and data-set registries
    ("model.mode=x", "invalid model.mode='x'; valid values: hybrid, ann, snn"),
    ("model.surrogate=relu", "invalid model.surrogate='relu'; valid values: atan, sigmoid, piecewise_quadratic"),
    ("data.dataset=coco", "invalid data.dataset='coco'; valid values: karpathy, scenes, shapes"),
    # every field has its bounds, including those the hand-written lists missed
    ("data.seed=-1", "invalid data.seed=-1; it must be >= 0"),
    ("data.n_val=-1", "invalid data.n_val=-1; it must be >= 0"),
    ("model.vision_heads=3", "model.vision_width=32 is not a multiple of model.vision_heads=3"),  # cross-field
])
def test_vl_invalid_values_raise_one_line_config_errors(override, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")) as info:
        load_config("test-tiny", [override])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", config_names())
def test_vl_every_preset_config_builds_and_validates(name):
    cfg = load_config(name)
    assert cfg.name == name and validate(cfg) is cfg


def test_vl_config_values_are_coerced_by_their_declared_type():
    # 3.0 -> 3 (int), 2 -> 2.0 (float), r_init any finite value, a string field keeps the raw text
    cfg = load_config("test-tiny", ["model.timesteps=3.0", "model.tau=2", "model.r_init=-1.5",
                                    "data.image_root=2024", "model.snn_attention=true"])
    assert (cfg.model.timesteps, type(cfg.model.timesteps), cfg.model.tau, type(cfg.model.tau)) == (3, int, 2.0, float)
    assert (cfg.model.r_init, cfg.data.image_root, cfg.model.snn_attention) == (-1.5, "2024", True)


def test_vl_unknown_names_and_keys_list_the_valid_ones():
    with pytest.raises(ConfigError, match="valid configs: .*ashnet-default"):
        load_config("ashnet-huge")
    with pytest.raises(ConfigError, match="valid keys: .*model.timesteps"):
        load_config("test-tiny", ["model.time_steps=2"])
    assert "ashnet-ann" in config_names() and "loss.stua_weight" in valid_keys()
    assert load_config("test-tiny", ["timesteps=3"]).model.timesteps == 3  # unique bare key


def test_vl_toml_file_with_base_and_malformed_toml(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('base = "test-tiny"\n[model]\nneuron = "plif"\n[loss]\nstua_weight = 0.0\n')
    cfg = load_config(path, ["train.steps=7"])
    assert (cfg.name, cfg.model.neuron, cfg.loss.stua_weight, cfg.train.steps) == ("mine", "plif", 0.0, 7)
    assert cfg.model.snn_width == 32  # from the base preset
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\n")
    with pytest.raises(ConfigError, match="malformed config file TOML"):
        load_config(bad)
    (tmp_path / "unknown.toml").write_text("[model]\nwidth = 3\n")
    with pytest.raises(ConfigError, match="unknown config key 'model.width'"):
        load_config(tmp_path / "unknown.toml")


@pytest.mark.parametrize("text,message", [
    ("[train]\nlr = inf\n", "invalid train.lr=inf; it must be finite"),
    ("[model]\nsnn_attention = 2\n", "invalid model.snn_attention=2; it needs a bool"),
    ("[model]\nneuron = 5\n", "invalid model.neuron=5; it needs a str"),
    ("name = 5\n", "invalid name=5; it needs a str"),
])
def test_vl_toml_config_values_are_validated(tmp_path, text, message):
    # a TOML file gets the same one-line errors as an override
    path = tmp_path / "bad.toml"
    path.write_text('base = "test-tiny"\n' + text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == message


def test_vl_config_presets_are_a_registry():
    # a preset is one PRESETS.register(...) call; from_dict validates every field of a stored config
    assert config_names() == PRESETS.names()
    assert from_dict(load_config("test-tiny").to_dict()) == load_config("test-tiny")


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.exists(), reason="embedded checkpoint not built yet")
def test_vl_default_ashnet_loads_the_embedded_trained_checkpoint():
    assert DEFAULT_CHECKPOINT.stat().st_size <= 5 * 1024 * 1024
    w = call_factory(get_factory("ashnet"), batch_size=4)
    assert w.info["trained"] and w.info["mode"] == "hybrid" and w.inputs[0].shape[0] == 4
    with torch.no_grad():
        sim = w.model(*w.inputs)
    assert sim.argmax(1).tolist() == [0, 1, 2, 3]  # a trained model matches its 4 test pairs
    rate = torch.cat([s.flatten() for s in _spikes(w.model, w.inputs[0])]).mean().item()
    assert 0.0 < rate < 0.5
