"""Configs of ASH-Nets vision-language runs: dataclasses, named presets, TOML files, overrides.

A config has four sections (``model``, ``loss``, ``data``, ``train``); a key is written
``section.field`` (e.g. ``model.timesteps=4``). A bare field name is accepted when it is unique
across sections. Architectures are data: every choice lives here, none in code paths.
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ashbench.errors import ConfigError
from ashbench.files import read_toml

MODES = ("hybrid", "ann", "snn")
NEURONS = ("if", "lif", "plif")
SURROGATES = ("atan", "sigmoid", "piecewise_quadratic")
ENCODINGS = ("direct", "poisson")
DECODINGS = ("rate", "weighted")
VISION_KINDS = ("conv", "vit")
DATASETS = ("shapes", "karpathy")


@dataclass
class ModelConfig:
    """Architecture. Widths are feature counts; ``timesteps`` is T of the spiking branch."""

    mode: str = "hybrid"  # hybrid: V = F_ann + r*E_snn; ann: V = F_ann; snn: SNN on a minimal stem
    vision: str = "conv"  # conv stem or patch-embedding transformer ("vit")
    vision_width: int = 96
    vision_depth: int = 4  # conv: stride-2 conv layers; vit: transformer layers
    patch_size: int = 8  # vit and the snn-mode minimal stem
    vision_heads: int = 4
    snn_width: int = 128
    snn_depth: int = 2
    snn_attention: bool = False  # spiking self-attention (Spikformer SSA) block before the MLP
    snn_heads: int = 4
    neuron: str = "lif"
    v_threshold: float = 1.0
    tau: float = 2.0
    surrogate: str = "atan"
    timesteps: int = 4
    encoding: str = "direct"
    decoding: str = "rate"
    r_init: float = 0.5
    text_width: int = 128
    text_depth: int = 2
    text_heads: int = 4
    max_text_len: int = 24
    embed_dim: int = 128
    itm_heads: int = 4


@dataclass
class LossConfig:
    """Objectives; a weight of 0 switches one off."""

    itc_weight: float = 1.0
    itm_weight: float = 1.0
    stua_weight: float = 0.5
    firing_rate_weight: float = 0.0  # lambda: penalise the mean firing rate of the SNN branch
    hard_negatives: bool = True  # hard negative captions join ITC's negatives and feed ITM
    nn_negatives_k: int = 4  # in-batch nearest neighbours per anchor whose weight is boosted
    nn_negatives_boost: float = 1.0  # weight 1+boost of those neighbours in InfoNCE's denominator
    temperature_init: float = 0.07


@dataclass
class DataConfig:
    dataset: str = "shapes"
    seed: int = 0
    image_size: int = 64
    n_train: int = 10000
    n_val: int = 500
    n_test: int = 1000
    captions_per_image: int = 3
    negatives_per_caption: int = 3
    max_objects: int = 3
    karpathy_json: str = ""
    image_root: str = ""
    cache_dir: str = ""  # "" keeps the rendered tensors in memory only


@dataclass
class TrainConfig:
    seed: int = 0
    steps: int = 1200
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_steps: int = 100
    log_every: int = 25
    checkpoint_every: int = 200
    threads: int = 0  # torch CPU threads; 0 leaves torch's default


@dataclass
class VLConfig:
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


PRESETS: dict[str, dict] = {
    "ashnet-default": {},
    "ashnet-ann": {"model": {"mode": "ann"}},
    "ashnet-snn": {"model": {"mode": "snn"}},
    "test-tiny": _tiny("hybrid"),
    "test-tiny-ann": _tiny("ann"),
    "test-tiny-snn": _tiny("snn"),
}


def config_names() -> list[str]:
    return sorted(PRESETS)


def from_dict(data: dict) -> VLConfig:
    """Build a config from a nested dict (unknown keys raise ConfigError naming the valid ones)."""
    cfg = VLConfig()
    for key, value in data.items():
        if key == "name":
            cfg.name = str(value)
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
        key, value = item.split("=", 1)
        _set(cfg, key.strip(), _parse_scalar(value.strip()))
    return validate(cfg)


def _read_base(name: str) -> dict:
    if name in PRESETS:
        return {"name": name, **copy.deepcopy(PRESETS[name])}
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
    current = getattr(target, name)
    setattr(target, name, _coerce(key, value, type(current)))


def _coerce(key: str, value, kind: type):
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(value)
                return value.lower() in ("true", "1")
            return bool(value)
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"config key {key!r} needs a {kind.__name__}, got {value!r}") from None


def _parse_scalar(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word, e.g. model.neuron=plif


def validate(cfg: VLConfig) -> VLConfig:
    """Raise ConfigError (one line) on the first invalid value; return ``cfg``."""
    m, lo, d, t = cfg.model, cfg.loss, cfg.data, cfg.train
    _choice("model.mode", m.mode, MODES)
    _choice("model.vision", m.vision, VISION_KINDS)
    _choice("model.neuron", m.neuron, NEURONS)
    _choice("model.surrogate", m.surrogate, SURROGATES)
    _choice("model.encoding", m.encoding, ENCODINGS)
    _choice("model.decoding", m.decoding, DECODINGS)
    _choice("data.dataset", d.dataset, DATASETS)
    _at_least(1, {"model.timesteps": m.timesteps, "model.vision_width": m.vision_width,
                  "model.vision_depth": m.vision_depth, "model.snn_width": m.snn_width,
                  "model.snn_depth": m.snn_depth, "model.text_width": m.text_width,
                  "model.text_depth": m.text_depth, "model.embed_dim": m.embed_dim,
                  "model.patch_size": m.patch_size, "model.max_text_len": m.max_text_len,
                  "model.vision_heads": m.vision_heads, "model.snn_heads": m.snn_heads,
                  "model.text_heads": m.text_heads, "model.itm_heads": m.itm_heads,
                  "data.image_size": d.image_size,
                  "data.n_train": d.n_train, "data.n_test": d.n_test, "data.captions_per_image": d.captions_per_image,
                  "data.max_objects": d.max_objects, "train.steps": t.steps, "train.batch_size": t.batch_size,
                  "train.log_every": t.log_every, "train.checkpoint_every": t.checkpoint_every})
    _at_least(0, {"loss.itc_weight": lo.itc_weight, "loss.itm_weight": lo.itm_weight,
                  "loss.stua_weight": lo.stua_weight, "loss.firing_rate_weight": lo.firing_rate_weight,
                  "loss.nn_negatives_k": lo.nn_negatives_k, "loss.nn_negatives_boost": lo.nn_negatives_boost,
                  "data.n_val": d.n_val, "data.negatives_per_caption": d.negatives_per_caption,
                  "train.weight_decay": t.weight_decay, "train.warmup_steps": t.warmup_steps,
                  "train.threads": t.threads, "model.r_init": abs(m.r_init)})
    _positive({"model.v_threshold": m.v_threshold, "model.tau": m.tau, "train.lr": t.lr,
               "loss.temperature_init": lo.temperature_init})
    _check_shapes(cfg)
    return cfg


def _choice(key: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(f"invalid {key}={value!r}; valid values: {', '.join(options)}")


def _at_least(lowest: int, values: dict) -> None:
    for key, value in values.items():
        if value < lowest:
            raise ConfigError(f"invalid {key}={value}; it must be >= {lowest}")


def _positive(values: dict) -> None:
    for key, value in values.items():
        if not value > 0:
            raise ConfigError(f"invalid {key}={value}; it must be > 0")


def _check_shapes(cfg: VLConfig) -> None:
    m, size = cfg.model, cfg.data.image_size
    if (m.vision == "vit" or m.mode == "snn") and size % m.patch_size:
        raise ConfigError(f"data.image_size={size} is not a multiple of model.patch_size={m.patch_size}")
    if m.vision == "conv" and m.mode != "snn" and size % 2 ** m.vision_depth:
        raise ConfigError(f"data.image_size={size} is not a multiple of 2**model.vision_depth={2 ** m.vision_depth}")
    for width, heads in (("vision_width", "vision_heads"), ("snn_width", "snn_heads"),
                         ("text_width", "text_heads"), ("embed_dim", "itm_heads")):
        if getattr(m, width) % getattr(m, heads):
            raise ConfigError(f"model.{width}={getattr(m, width)} is not a multiple of model.{heads}={getattr(m, heads)}")
