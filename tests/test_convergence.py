"""Convergence: periodic validation, checkpoint selection on val (best.pt / model.pt), early stopping,
resumption with periodic evaluation, learning-curve plots (``ashbench plot curves``), sweep columns."""

from __future__ import annotations

import json
import math

import pytest
import torch
from helpers import run_cli, sweep_spec

from ashbench.ashnet import train as train_module
from ashbench.ashnet.checkpoint import load_checkpoint
from ashbench.ashnet.config import load_config
from ashbench.ashnet.train import train
from ashbench.errors import ConfigError
from ashbench.sweeps.runs_table import read_rows

FAST = ["train.threads=1", "data.n_val=16"]


def _log(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def _without_times(folder) -> list[dict]:
    return [{k: v for k, v in rec.items() if k != "elapsed_s"} for rec in _log(folder)]


def _weights(path) -> dict:
    return load_checkpoint(path)["model"]


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class Script:
    """A stand-in for ``validation_report`` whose selection metric at step s is ``values[s]``. The step
    is the one after the last step the training callback saw (evaluation comes before the callback);
    ``at`` starts at the step a run resumes from."""

    def __init__(self, values: dict[int, float], at: int = 0):
        self.values, self.at = values, at

    def report(self, *args, **kwargs) -> dict:
        return {"retrieval_truth": {"mean_recall": self.values[self.at + 1]}}

    def callback(self, rec: dict) -> None:
        self.at = rec["step"]


def _scripted(monkeypatch, values, at=0) -> Script:
    script = Script(values, at)
    monkeypatch.setattr(train_module, "validation_report", script.report)
    return script


# --- selection on the validation split -----------------------------------------------------------

def test_selection_picks_the_best_val_step_of_the_log(tmp_path):
    out = tmp_path / "run"
    result = train("test-tiny", out, overrides=FAST + ["train.steps=6", "train.eval_every=1"])
    vals = [r for r in _log(out) if r.get("event") == "val"]
    assert [r["step"] for r in vals] == [1, 2, 3, 4, 5, 6]
    values = [r["retrieval_truth"]["mean_recall"] for r in vals]
    assert [r["select_value"] for r in vals] == values
    best = vals[values.index(max(values))]  # the first step with the highest value (ties keep the earlier)
    assert result.selected_step == best["step"] and result.select_value == max(values)
    assert result.stopped_step == 6 and not result.early_stopped and result.steps == 6
    saved = load_checkpoint(out / "model.pt")
    assert saved["step"] == best["step"] and saved["metrics"]["selected_step"] == best["step"]
    assert saved["metrics"]["select_metric"] == "retrieval_truth.mean_recall"
    assert saved["metrics"]["val"]["retrieval_truth"] == best["retrieval_truth"]
    assert "ci95" not in best  # the fast validation report has no bootstrap
    if best["step"] < 6:
        assert _same(_weights(out / "best.pt"), saved["model"])
    else:
        assert not (out / "best.pt").exists() and _same(_weights(out / "last.pt"), saved["model"])


def test_model_pt_holds_the_weights_of_the_selected_step(tmp_path, monkeypatch):
    # evaluations at steps 2, 4, 6, 8 give 10, 30, 20, 25: step 4 is selected
    script = _scripted(monkeypatch, {2: 10.0, 4: 30.0, 6: 20.0, 8: 25.0})
    args = FAST + ["train.steps=8", "train.eval_every=2"]
    result = train("test-tiny", tmp_path / "run", overrides=args, callback=script.callback)
    assert (result.selected_step, result.stopped_step, result.select_value) == (4, 8, 30.0)
    vals = [(r["step"], r["select_value"], r["best_step"]) for r in _log(tmp_path / "run") if "event" in r]
    assert vals == [(2, 10.0, 2), (4, 30.0, 4), (6, 20.0, 4), (8, 25.0, 4)]

    def stop_at_4(rec):  # the same run, interrupted at step 4: its last.pt holds step 4's weights
        script.callback(rec)
        if rec["step"] == 4:
            raise KeyboardInterrupt

    script.at = 0
    with pytest.raises(KeyboardInterrupt):
        train("test-tiny", tmp_path / "cut", overrides=args, callback=stop_at_4)
    step4 = _weights(tmp_path / "cut" / "last.pt")
    assert load_checkpoint(tmp_path / "run" / "best.pt")["step"] == 4
    assert _same(_weights(tmp_path / "run" / "best.pt"), step4)
    assert _same(_weights(tmp_path / "run" / "model.pt"), step4)
    assert _same(result.model.state_dict(), step4)
    assert not _same(_weights(tmp_path / "run" / "last.pt"), step4)  # last.pt: the final (step 8) weights


def test_min_delta_sets_what_counts_as_an_improvement(tmp_path, monkeypatch):
    # min_delta 1: 10.5 is not > 10 + 1 (step 1 stays best), 12 > 11 is
    script = _scripted(monkeypatch, {1: 10.0, 2: 10.5, 3: 12.0})
    result = train("test-tiny", tmp_path, overrides=FAST + ["train.steps=3", "train.eval_every=1",
                                                            "train.min_delta=1"], callback=script.callback)
    assert [r["best_step"] for r in _log(tmp_path) if "event" in r] == [1, 1, 3] and result.selected_step == 3


# --- early stopping -------------------------------------------------------------------------------

def test_early_stopping_after_patience_evaluations_without_improvement(tmp_path, monkeypatch):
    # eval every step, patience 2: step 1 (10) best, step 2 (20) best, step 3 (15) 1st without
    # improvement, step 4 (20: a tie is no improvement) 2nd -> the run stops at step 4; step 2 is selected
    script = _scripted(monkeypatch, {1: 10.0, 2: 20.0, 3: 15.0, 4: 20.0, 5: 99.0})
    args = FAST + ["train.steps=10", "train.eval_every=1", "train.patience=2"]
    result = train("test-tiny", tmp_path, overrides=args, callback=script.callback)
    assert (result.stopped_step, result.selected_step, result.early_stopped) == (4, 2, True)
    log = _log(tmp_path)
    assert [r["step"] for r in log if "event" not in r] == [1, 2, 3, 4]
    assert [(r["step"], r["stop"]) for r in log if "event" in r] == [(1, False), (2, False), (3, False), (4, True)]
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 4
    saved = load_checkpoint(tmp_path / "model.pt")
    assert saved["step"] == 2 and saved["metrics"]["stopped_step"] == 4 and saved["metrics"]["early_stopped"]
    assert _same(saved["model"], _weights(tmp_path / "best.pt"))
    # a rerun of the stopped run trains nothing more and gives the same log and model.pt
    model_before = saved["model"]
    again = train("test-tiny", tmp_path, overrides=args, callback=script.callback)
    assert (again.stopped_step, again.selected_step) == (4, 2) and _log(tmp_path) == log
    assert _same(_weights(tmp_path / "model.pt"), model_before)


def test_the_step_early_stopping_ends_at_is_logged(tmp_path, monkeypatch):
    # log every 3 steps, eval every 2, patience 1: step 2 (10) best, step 4 (5) without improvement ->
    # stop at step 4, which is logged although 4 is not a multiple of 3
    script = _scripted(monkeypatch, {2: 10.0, 4: 5.0})
    result = train("test-tiny", tmp_path, overrides=FAST + ["train.steps=9", "train.eval_every=2", "train.patience=1",
                                                            "train.log_every=3"], callback=script.callback)
    assert (result.stopped_step, result.selected_step) == (4, 2) and result.last["step"] == 4
    assert [(r.get("event", "train"), r["step"]) for r in _log(tmp_path)] == [
        ("val", 2), ("train", 3), ("val", 4), ("train", 4)]


# --- resumption and the training trajectory -------------------------------------------------------

VALUES = {1: 10.0, 2: 30.0, 3: 20.0, 4: 25.0, 5: 22.0, 6: 28.0}  # step 2 is the best


@pytest.mark.parametrize("cut_at,drop_best", [(4, False), (2, True)])
def test_resume_with_periodic_evaluation_repeats_the_uninterrupted_run(tmp_path, monkeypatch, cut_at, drop_best):
    """Interrupted after step 4 (best.pt of step 2 kept), or after step 2 with best.pt then lost (a kill
    between writing last.pt, which names step 2 the best, and best.pt): the resumed run's log,
    selection, best.pt and model.pt equal the uninterrupted run's."""
    args = FAST + ["train.steps=6", "train.eval_every=1", "train.checkpoint_every=2"]
    script = _scripted(monkeypatch, VALUES)
    full = train("test-tiny", tmp_path / "full", overrides=args, callback=script.callback)
    assert full.selected_step == 2

    def cut(rec):
        script.callback(rec)
        if rec["step"] == cut_at:
            raise KeyboardInterrupt

    script.at = 0
    with pytest.raises(KeyboardInterrupt):
        train("test-tiny", tmp_path / "cut", overrides=args, callback=cut)
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["step"] == cut_at
    if drop_best:
        (tmp_path / "cut" / "best.pt").unlink()
    script.at = cut_at
    resumed = train("test-tiny", tmp_path / "cut", overrides=args, callback=script.callback)
    assert _without_times(tmp_path / "cut") == _without_times(tmp_path / "full")
    assert (resumed.selected_step, resumed.stopped_step) == (full.selected_step, full.stopped_step)
    for name in ("model.pt", "best.pt", "last.pt"):
        assert _same(_weights(tmp_path / "cut" / name), _weights(tmp_path / "full" / name)), name


def test_resume_with_real_evaluation_gives_the_same_log_and_model(tmp_path):
    args = FAST + ["train.steps=6", "train.eval_every=2", "train.checkpoint_every=3"]
    train("test-tiny", tmp_path / "full", overrides=args)

    def stop_at_4(rec):
        if rec["step"] == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train("test-tiny", tmp_path / "cut", overrides=args, callback=stop_at_4)
    train("test-tiny", tmp_path / "cut", overrides=args)
    assert _without_times(tmp_path / "cut") == _without_times(tmp_path / "full")
    assert _same(_weights(tmp_path / "cut" / "model.pt"), _weights(tmp_path / "full" / "model.pt"))


def test_evaluation_does_not_change_the_training_trajectory(tmp_path):
    """Poisson encoding draws from the global RNG during evaluation too: with eval_every=1 the final
    weights and training records equal those of a run evaluated only at the end (patience 0)."""
    base = FAST + ["train.steps=4", "model.encoding=poisson"]
    train("test-tiny", tmp_path / "end", overrides=base + ["train.eval_every=0"])
    train("test-tiny", tmp_path / "every", overrides=base + ["train.eval_every=1"])
    assert _same(_weights(tmp_path / "end" / "last.pt"), _weights(tmp_path / "every" / "last.pt"))

    def training(folder):
        return [r for r in _without_times(folder) if "event" not in r]

    assert training(tmp_path / "end") == training(tmp_path / "every")
    assert [r["step"] for r in _log(tmp_path / "end") if "event" in r] == [4]
    assert [r["step"] for r in _log(tmp_path / "every") if "event" in r] == [1, 2, 3, 4]


def test_without_a_val_split_the_last_step_is_selected(tmp_path):
    result = train("test-tiny", tmp_path, overrides=["train.steps=2", "data.n_val=0", "train.eval_every=1",
                                                     "train.threads=1"])
    assert (result.selected_step, result.stopped_step, result.select_value, result.val) == (2, 2, None, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "metrics.jsonl", "model.pt"]
    assert all("event" not in r for r in _log(tmp_path))


# --- configuration ---------------------------------------------------------------------------------

def test_bad_convergence_keys_are_one_line_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"^invalid train.select_metric='test.mean_recall'; valid values: "
                                          r"retrieval.mean_recall, .*retrieval_truth.mean_recall") as info:
        load_config("test-tiny", ["train.select_metric=test.mean_recall"])
    assert "\n" not in str(info.value)
    for bad, message in (("train.patience=-1", "invalid train.patience=-1; it must be >= 0"),
                         ("train.eval_every=-2", "invalid train.eval_every=-2; it must be >= 0"),
                         ("train.min_delta=nan", "invalid train.min_delta=nan; it must be finite")):
        with pytest.raises(ConfigError, match=f"^{message}$".replace(".", r"\.").replace("=", "=")):
            load_config("test-tiny", [bad])
    res = run_cli("train", "test-tiny", "train.select_metric=nope", "--out", tmp_path / "run")
    assert res.exit_code == 2 and res.stderr.startswith("error: invalid train.select_metric='nope'")
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_defaults_keep_validation_cheap():
    cfg = load_config("ashnet-default").train
    assert (cfg.eval_every, cfg.select_metric, cfg.patience, cfg.min_delta) == (
        100, "retrieval_truth.mean_recall", 0, 0.0)


# --- learning curves ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def curve_runs(tmp_path_factory):
    """A small 'sweep work dir' with a hybrid and an ann run (4 steps, evaluated every step)."""
    root = tmp_path_factory.mktemp("curves") / "work"
    for name, preset in (("hybrid", "test-tiny"), ("ann", "test-tiny-ann")):
        train(preset, root / name, overrides=FAST + ["train.steps=4", "train.eval_every=1"])
    return root


def test_plot_curves_of_runs_and_of_a_sweep_work_dir(curve_runs, tmp_path):
    from ashbench.report.figures import read_learning_curves

    runs = read_learning_curves([str(curve_runs / "hybrid"), str(curve_runs)])
    assert [(r["name"], r["mode"]) for r in runs] == [("hybrid", "hybrid"), ("ann", "ann"), ("hybrid", "hybrid")]
    assert [s for s, _ in runs[0]["train"]] == [1, 2, 3, 4] and [s for s, _ in runs[0]["val"]] == [1, 2, 3, 4]
    assert runs[0]["selected_step"] == load_checkpoint(curve_runs / "hybrid" / "model.pt")["step"]
    assert runs[0]["metric"] == "retrieval_truth.mean_recall"
    res = run_cli("plot", "curves", curve_runs / "hybrid", curve_runs / "ann", "-o", tmp_path / "c")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "c.png").stat().st_size > 0 and (tmp_path / "c.svg").stat().st_size > 0
    res = run_cli("plot", "curves", curve_runs.parent, "-o", tmp_path / "sweep")  # two levels down
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sweep.png").exists()


def test_plot_curves_bad_inputs_are_one_line_errors(curve_runs, tmp_path):
    empty_dir, empty_log, no_loss = tmp_path / "nothing", tmp_path / "empty", tmp_path / "noloss"
    empty_dir.mkdir()
    empty_log.mkdir()
    (empty_log / "metrics.jsonl").write_text("")
    no_loss.mkdir()
    (no_loss / "metrics.jsonl").write_text('{"event": "val", "step": 1}\n')
    garbled = tmp_path / "garbled"
    garbled.mkdir()
    (garbled / "metrics.jsonl").write_text('{"step": 1, "loss": 2.0}\nnot json\n{"step": 2, "loss": 1.0}\n')
    cases = [(empty_dir, "holds no metrics.jsonl"), (empty_log, "has no training records"),
             (no_loss, "has no training records"), (tmp_path / "missing", "run folder not found"),
             (garbled, "line 2 is not JSON")]
    for folder, fragment in cases:
        res = run_cli("plot", "curves", curve_runs / "hybrid", folder, "-o", tmp_path / "out")
        assert res.exit_code == 2 and res.stderr.startswith("error: ") and fragment in res.stderr, res.output
        assert len(res.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("out*"))


# --- sweeps ---------------------------------------------------------------------------------------

@pytest.mark.slow  # a whole sweep run: training, evaluation with bootstrap, profile, energy
def test_sweep_rows_give_selected_and_stopped_steps(tmp_path):
    spec = sweep_spec(tmp_path, 'mode = ["ann"]\n')
    res = run_cli("sweep", spec)
    assert res.exit_code == 0, res.output
    (row,) = read_rows(tmp_path / "results" / "s" / "runs.csv")
    assert row["stopped_step"] == "2" and row["selected_step"] in ("1", "2")
    assert math.isfinite(float(row["t2i_r1"]))


def test_validation_uses_the_scene_graphs_truth_like_the_test_report():
    """On a split with scene graphs the val metric is the evaluation's truth-aware recall (scene-graph
    truth), not string identity: validation_report and retrieval_report agree on the same split."""
    from ashbench.ashnet.config import load_config
    from ashbench.ashnet.data import load_split
    from ashbench.ashnet.data.tokenizer import WordTokenizer
    from ashbench.ashnet.evaluate import retrieval_report
    from ashbench.ashnet.model import build_model
    from ashbench.ashnet.train import validation_report

    cfg = load_config("test-tiny-scenes")
    split = load_split(cfg.data, "val")
    tok = WordTokenizer.build([t for caps in split.captions for t in caps] +
                              [t for per in split.negatives for ns in per for t in ns])
    model = build_model(cfg, len(tok))
    val = validation_report(model, split, tok, cfg.model.max_text_len)
    full = retrieval_report(model, split, tok, cfg.model.max_text_len, n_resamples=10, references=False)
    assert val["retrieval_truth"] == full["retrieval_truth"] and val["retrieval"] == full["retrieval"]
