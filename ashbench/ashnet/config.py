"""Configs of ASH-Nets vision-language runs: dataclasses, named presets, TOML files, overrides.

A config has four sections (``model``, ``loss``, ``data``, ``train``); a key is written
``section.field`` (e.g. ``model.timesteps=4``). A bare field name is accepted when it is unique
across sections. Architectures are data: every choice lives here, none in code paths.

Every field declares its type, bounds and valid values where it is defined (``spec(4, ge=1)``,
``Literal[...]``, ``choices=`` a registry; see :mod:`ashbench.schema`), so a new field is
validated like the others; :func:`validate` checks them all, then the cross-field shapes.
Presets are entries of ``PRESETS``: ``PRESETS.register("name", {"model": {...}, ...})``.
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ashbench.ashnet.neurons import NEURONS, SURROGATES
from ashbench.errors import ConfigError
from ashbench.files import read_toml
from ashbench.registry import Registry
from ashbench.schema import check, field_types, field_value, spec


def _dataset_names() -> list[str]:
    from ashbench.ashnet.data import dataset_names  # lazy: the data package imports torch

    return dataset_names()


@dataclass
class ModelConfig:
    """Architecture: every field carries its own bound (``spec``) and meaning (its comment)."""

    mode: Literal["hybrid", "ann", "snn"] = "hybrid"  # V = F_ann + r*E_snn / V = F_ann / SNN on a minimal stem
    vision: Literal["conv", "vit"] = "conv"  # conv stem, or patch-embedding transformer
    vision_width: int = spec(96, ge=1)  # features of the ANN (concrete) branch
    vision_depth: int = spec(4, ge=1)  # conv: stride-2 conv layers; vit: transformer layers
    patch_size: int = spec(8, ge=1)  # pixels per patch side (vit, and the snn-mode patch stem)
    snn_stem: Literal["patch", "conv"] = "patch"  # snn mode: one patchify layer, or the conv stem with spiking neurons
    vision_heads: int = spec(4, ge=1)  # attention heads of the vit stem
    snn_width: int = spec(128, ge=1)  # features of the spiking (abstract) branch
    snn_depth: int = spec(2, ge=1)  # spiking MLP blocks
    snn_attention: bool = False  # a spiking self-attention (Spikformer SSA) block before each later MLP
    snn_heads: int = spec(4, ge=1)  # heads of the spiking self-attention
    neuron: str = spec("lif", choices=NEURONS.names)  # a name of ashbench.ashnet.neurons.NEURONS
    v_threshold: float = spec(1.0, gt=0)  # firing threshold
    tau: float = spec(2.0, gt=0)  # membrane time constant (time steps)
    surrogate: str = spec("atan", choices=SURROGATES)  # surrogate gradient of the spike function
    timesteps: int = spec(4, ge=1)  # T of the spiking branch
    encoding: Literal["direct", "poisson"] = "direct"  # input to the spiking branch over T steps
    decoding: Literal["rate", "weighted"] = "rate"  # mean over T, or one learned weight per step
    r_init: float = 0.5  # initial fusion weight r (any finite value)
    text_width: int = spec(128, ge=1)  # features of the text encoder
    text_depth: int = spec(2, ge=1)  # transformer layers of the text encoder
    text_heads: int = spec(4, ge=1)  # attention heads of the text encoder
    max_text_len: int = spec(24, ge=1)  # tokens per caption, [CLS] included
    embed_dim: int = spec(128, ge=1)  # the joint image-text embedding
    itm_heads: int = spec(4, ge=1)  # heads of the image-text matching cross-attention


@dataclass
class LossConfig:
    """Objectives; a weight of 0 switches one off."""

    itc_weight: float = spec(1.0, ge=0)  # image-text contrastive (InfoNCE)
    itm_weight: float = spec(1.0, ge=0)  # image-text matching on hard negatives
    stua_weight: float = spec(0.5, ge=0)  # spiking-to-text uni-alignment
    firing_rate_weight: float = spec(0.0, ge=0)  # lambda: penalty on the SNN branch's mean firing rate
    hard_negatives: bool = True  # hard negative captions join ITC's negatives and feed ITM
    nn_negatives_k: int = spec(4, ge=0)  # in-batch nearest negatives per anchor whose weight is boosted
    nn_negatives_boost: float = spec(1.0, ge=0)  # their weight is 1 + boost in InfoNCE's denominator
    temperature_init: float = spec(0.07, gt=0)  # initial softmax temperature of ITC


@dataclass
class DataConfig:
    """The data set and its size."""

    dataset: str = spec("shapes", choices=_dataset_names)  # a name of ashbench.ashnet.data.registry.DATASETS
    seed: int = spec(0, ge=0)  # of the procedural data
    image_size: int = spec(64, ge=1)  # pixels per side (square images)
    n_train: int = spec(10000, ge=1)  # images of the training split
    n_val: int = spec(500, ge=0)  # images of the validation split (0: none)
    n_test: int = spec(1000, ge=1)  # images of the test split
    captions_per_image: int = spec(3, ge=1)
    negatives_per_caption: int = spec(3, ge=0)  # hard negative captions per caption
    max_objects: int = spec(3, ge=1)  # objects per image at most (shapes: 1..max; scenes: 2..5, its presets 5)
    held_colour_shapes: int = spec(4, ge=1, le=5)  # scenes: colour x shape pairs held out of train/val/test
    held_relations: int = spec(4, ge=1, le=30)  # scenes: (shape, relation, shape) facts held out likewise
    n_compositional: int = spec(0, ge=0)  # scenes: images of the compositional split (0: n_test)
    karpathy_json: str = ""  # the Karpathy-split caption JSON (data set "karpathy")
    image_root: str = ""  # its image folder
    cache_dir: str = ""  # where rendered tensors are cached; "" keeps them in memory only


# Validation metrics (``section.key`` of a retrieval report; all percentages, higher is better) that
# train.select_metric may name.
VAL_METRICS = tuple(f"{section}.{key}" for section in ("retrieval", "retrieval_truth")
                    for key in ("mean_recall", "i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10")) + (
    "hard_negative_accuracy", "hard_negative_accuracy_itm")


@dataclass
class TrainConfig:
    """Optimisation (AdamW, linear warm-up then cosine decay to 0)."""

    seed: int = spec(0, ge=0)  # of the initial weights, the batches and every random draw
    steps: int = spec(1200, ge=1)  # optimiser steps
    batch_size: int = spec(64, ge=1)  # images per step, all ranks together; distinct images
    lr: float = spec(2e-3, gt=0)  # peak learning rate (may change when a run resumes)
    weight_decay: float = spec(0.05, ge=0)  # on parameters of >= 2 dimensions only
    warmup_steps: int = spec(100, ge=0)  # steps of linear warm-up
    log_every: int = spec(25, ge=1)  # steps between lines of metrics.jsonl
    checkpoint_every: int = spec(200, ge=1)  # steps between checkpoints (last.pt)
    threads: int = spec(0, ge=0)  # torch CPU threads; 0 leaves torch's default
    # Convergence: validation during training, checkpoint selection on it, early stopping (never on test).
    eval_every: int = spec(100, ge=0)  # steps between evaluations on the val split (and the last step); 0: last only
    # the val metric (higher is better) whose best evaluated step model.pt holds; it drives early stopping
    select_metric: str = spec("retrieval_truth.mean_recall", choices=VAL_METRICS)
    patience: int = spec(0, ge=0)  # evaluations in a row without improvement that stop the run; 0: never stop early
    min_delta: float = spec(0.0, ge=0)  # an evaluation improves when it beats the best so far by more than this


@dataclass
class VLConfig:
    """A whole run: ``name`` (a preset name or the TOML file's stem) and the four sections."""

    name: str = "ashnet-default"
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        """Plain nested dict of str/int/float/bool (stored in checkpoints)."""
        return dataclasses.asdict(self)


SECTIONS = ("model", "loss", "data", "train")


def _tiny(mode: str) -> dict:
    return {
        "model": {"mode": mode, "vision_width": 32, "vision_depth": 3, "patch_size": 8,
                  "snn_width": 32, "snn_depth": 1, "timesteps": 2, "text_width": 32, "text_depth": 1,
                  "embed_dim": 32, "max_text_len": 20, "vision_heads": 2, "snn_heads": 2, "text_heads": 2,
                  "itm_heads": 2},
        "data": {"image_size": 32, "n_train": 64, "n_val": 16, "n_test": 32, "captions_per_image": 2,
                 "negatives_per_caption": 2},
        "train": {"steps": 4, "batch_size": 8, "warmup_steps": 1, "log_every": 1, "checkpoint_every": 2},
    }


@dataclass(frozen=True)
class Baseline:
    """A controlled arm of the reference comparison: config overrides on a hybrid base config and the
    one factor it isolates (``controls``). With ``match_image_params`` the arm's ``model.vision_width``
    is chosen per base config (:func:`ashbench.ashnet.baselines.matched_vision_width`): the width whose
    image-side parameter count is closest to the hybrid's."""

    overrides: dict
    controls: str
    match_image_params: bool = False


BASELINES: Registry[Baseline] = Registry("arm", ConfigError)
BASELINES.register("hybrid", Baseline({}, "the model under study: V = F_ann + r * E_snn, all four objectives"))
BASELINES.register("ann", Baseline(
    {"model": {"mode": "ann"}, "loss": {"stua_weight": 0.0}},
    "the concrete encoder alone (V = F_ann), ITC + hard negatives + ITM: what the spiking branch adds"))
BASELINES.register("ann-aux", Baseline(
    {"model": {"mode": "ann"}},
    "the ANN with STUA's loss on its own latent (F_ann through its own head, text detached): whether a "
    "hybrid gain is only the extra alignment loss"))
BASELINES.register("ann-twin", Baseline(
    {"model": {"neuron": "relu", "timesteps": 1}},
    "the hybrid with ReLU in place of the spiking neurons and T = 1: the same topology, parameters and "
    "losses, continuous activations; whether spiking (not the extra branch) matters"))
BASELINES.register("ann-wide", Baseline(
    {"model": {"mode": "ann"}, "loss": {"stua_weight": 0.0}},
    "the ANN widened to the hybrid's image-side parameters (on ashnet-default vision_width 128: 520,224 vs "
    "522,457); it has more MACs (12.9 M vs 8.2 M per image): whether a hybrid gain is only capacity",
    match_image_params=True))
BASELINES.register("snn", Baseline(
    {"model": {"mode": "snn"}},
    "the spiking encoder alone on a one-layer patchify stem (V = E_snn): no ANN hierarchy"))
BASELINES.register("snn-conv", Baseline(
    {"model": {"mode": "snn", "snn_stem": "conv"}},
    "the spiking encoder on the ANN stem's conv hierarchy with spiking neurons (V = E_snn): spiking "
    "with the same spatial hierarchy as the ANN"))


def _merge(base: dict, extra: dict) -> dict:
    return {k: {**base.get(k, {}), **extra.get(k, {})} for k in {*base, *extra}}


PRESETS: Registry[dict] = Registry("config", ConfigError)
PRESETS.register("ashnet-default", {})
ANN_WIDE_DEFAULT_WIDTH = 128  # ann-wide's matched width on ashnet-default (tests/test_arms.py recomputes it)
for _arm in BASELINES.names():
    if _arm != "hybrid":
        _extra = {"model": {"vision_width": ANN_WIDE_DEFAULT_WIDTH}} if BASELINES.get(_arm).match_image_params else {}
        PRESETS.register(f"ashnet-{_arm}", _merge(BASELINES.get(_arm).overrides, _extra))
PRESETS.register("test-tiny", _tiny("hybrid"))
SCENES = {"data": {"dataset": "scenes", "max_objects": 5}, "model": {"max_text_len": 32}}
PRESETS.register("ashnet-scenes", SCENES)
PRESETS.register("test-tiny-scenes", _merge(_tiny("hybrid"), SCENES))
for _arm in ("ann", "ann-aux", "ann-twin", "snn", "snn-conv"):
    PRESETS.register(f"test-tiny-{_arm}", _merge(_tiny("hybrid"), BASELINES.get(_arm).overrides))


def config_names() -> list[str]:
    return PRESETS.names()


def from_dict(data: dict) -> VLConfig:
    """Build a config from a nested dict (unknown keys raise ConfigError naming the valid ones)."""
    cfg = VLConfig()
    for key, value in data.items():
        if key == "name":
            cfg.name = field_value(VLConfig, "name", value, ConfigError)
        elif key in SECTIONS and isinstance(value, dict):
            for sub, v in value.items():
                _set(cfg, f"{key}.{sub}", v)
        else:
            _set(cfg, key, value)
    return validate(cfg)


def load_config(name_or_path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> VLConfig:
    """A preset name or a TOML file, then ``key=value`` overrides applied in order."""
    return apply_overrides(from_dict(_read_base(str(name_or_path))), overrides)


def apply_overrides(cfg: VLConfig, overrides: list[str] | tuple[str, ...] = ()) -> VLConfig:
    """A validated copy of ``cfg`` with ``key=value`` overrides applied in order."""
    cfg = copy.deepcopy(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not key=value (e.g. model.timesteps=2)")
        key, value = (part.strip() for part in item.split("=", 1))
        _set(cfg, key, _override_value(key, value))
    return validate(cfg)


def _read_base(name: str) -> dict:
    if name in PRESETS:
        return {"name": name, **copy.deepcopy(PRESETS.get(name))}
    path = Path(name)
    if path.suffix == ".toml" or path.exists():
        return _read_toml(path)
    raise ConfigError(f"unknown config {name!r}; valid configs: {', '.join(config_names())} (or a .toml file)")


def _read_toml(path: Path) -> dict:
    data = read_toml(path, ConfigError, "config file")
    base = data.pop("base", None)
    merged = {"name": path.stem}
    if base is not None:
        merged = _read_base(str(base))
        merged["name"] = path.stem
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def valid_keys() -> list[str]:
    cfg = VLConfig()
    return [f"{s}.{f.name}" for s in SECTIONS for f in dataclasses.fields(getattr(cfg, s))]


def _resolve_key(key: str) -> tuple[str, str]:
    if "." in key:
        section, name = key.split(".", 1)
        if section in SECTIONS and name in {f.name for f in dataclasses.fields(getattr(VLConfig(), section))}:
            return section, name
    else:
        matches = [k for k in valid_keys() if k.split(".", 1)[1] == key]
        if len(matches) == 1:
            return tuple(matches[0].split(".", 1))  # type: ignore[return-value]
    raise ConfigError(f"unknown config key {key!r}; valid keys: {', '.join(valid_keys())}")


def _set(cfg: VLConfig, key: str, value) -> None:
    section, name = _resolve_key(key)
    target = getattr(cfg, section)
    setattr(target, name, field_value(type(target), name, value, ConfigError, section))


def _override_value(key: str, text: str):
    """An override's value: TOML syntax (``2``, ``true``, ``"x"``), or the raw text for a string
    field (``data.image_root=2024`` stays a string)."""
    value = _parse_scalar(text)
    section, name = _resolve_key(key)
    is_str = field_types(type(getattr(VLConfig(), section)))[name] is str
    return text if is_str and not isinstance(value, str) else value


def _parse_scalar(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word, e.g. model.neuron=plif


def validate(cfg: VLConfig) -> VLConfig:
    """Raise ConfigError (one line) on the first invalid value (every field's declared type and
    bounds, then the cross-field shape checks); return ``cfg``."""
    check(cfg, ConfigError)
    _check_shapes(cfg)
    return cfg


def _check_shapes(cfg: VLConfig) -> None:
    m, size = cfg.model, cfg.data.image_size
    snn_patch = m.mode == "snn" and m.snn_stem == "patch"
    if m.snn_stem == "conv" and m.mode != "snn":
        raise ConfigError(f"model.snn_stem=conv needs model.mode=snn (mode {m.mode} has the ANN stem)")
    if (m.vision == "vit" or snn_patch) and size % m.patch_size:
        raise ConfigError(f"data.image_size={size} is not a multiple of model.patch_size={m.patch_size}")
    if m.vision == "conv" and not snn_patch and size % 2 ** m.vision_depth:
        raise ConfigError(f"data.image_size={size} is not a multiple of 2**model.vision_depth={2 ** m.vision_depth}")
    for width, heads in (("vision_width", "vision_heads"), ("snn_width", "snn_heads"),
                         ("text_width", "text_heads"), ("embed_dim", "itm_heads")):
        width_n, heads_n = getattr(m, width), getattr(m, heads)
        if width_n % heads_n:
            raise ConfigError(f"model.{width}={width_n} is not a multiple of model.{heads}={heads_n}")
