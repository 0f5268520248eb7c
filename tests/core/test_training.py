"""The trainer behind the Training dock, without Qt: learning, chunks, refusals, sessions."""

import threading

import numpy as np
import pytest
import torch
from torch import nn

from inspector.core.engine import Engine
from inspector.core.files.loading import bundled_lenet, open_model
from inspector.core.files.session import SessionError, SessionState, load_session, save_session
from inspector.core.model.inputs import LENET_INPUT
from inspector.core.model.nets import untrained_lenet
from inspector.core.training.setup import TrainConfig, TrainingRefused, load_data, reinitialise
from inspector.core.training.snapshot import check_snapshot
from inspector.core.training.trainer import Trainer
from tests.conftest import assert_reset_brings_back_the_opening_weights

CPU = torch.device("cpu")
SMALL = TrainConfig(batch_size=16, epochs=2, eval_every=10, log_every=5)


def _trainer(config: TrainConfig = SMALL) -> Trainer:
    trainer = Trainer(untrained_lenet(0), LENET_INPUT, CPU)
    trainer.configure(config, None, CPU)  # None: the bundled 1,000-image sample
    return trainer


def test_the_bundled_sample_is_split_into_training_and_held_out_images():
    data = load_data(None)
    assert data.train_x.shape == (800, 28, 28) and data.test_x.shape == (200, 28, 28)
    assert "bundled sample" in data.source


def test_training_on_the_sample_lowers_the_loss_and_raises_the_accuracy():
    trainer = _trainer()
    progress = trainer.run_chunk(max_batches=100, max_ms=60_000)
    assert progress.batches == 100 == progress.step and progress.images == 1600
    assert progress.epoch == 2 and progress.step_in_epoch == 50 and progress.steps_per_epoch == 50
    losses = progress.losses
    assert losses[-20:].mean() < 0.6 * losses[:10].mean()
    assert progress.held[-1] > progress.held[0] and progress.held[-1] > 0.5
    assert len(progress.test) == 2 and progress.test_steps.tolist() == [50, 100]
    assert progress.finished and "epoch 2/2 · step 50/50 · loss" in progress.status()
    # Gradient health: every parameter tensor, every 5 steps: norms and update/weight ratios.
    assert progress.names[0] == "conv1.weight" and progress.health.shape == (3, 10, 20)
    assert np.isfinite(progress.health).all() and (progress.health[2] > 0).all()


def test_a_chunk_stops_at_its_batch_count_its_time_or_a_cancel():
    trainer = _trainer()
    assert trainer.run_chunk(max_batches=3, max_ms=60_000).batches == 3
    assert trainer.run_chunk(max_batches=1000, max_ms=1).batches == 1  # at least one batch
    cancel = threading.Event()
    cancel.set()
    assert trainer.run_chunk(max_batches=1000, cancel=cancel).batches == 0


def test_preparing_batches_ahead_trains_exactly_as_one_thread_does():
    """The prefetch thread draws from the generator in the same order, across chunks cut
    anywhere (by count and by a cancel) and an epoch's end, and prepares no batch for nothing."""
    runs = []
    for prefetch in (False, True):
        trainer = _trainer()
        trainer.prefetch = prefetch  # True: even with every core in torch's threads
        for batches in (7, 1, 30, 13):  # 51 steps: past the 50-step epoch
            trainer.run_chunk(max_batches=batches, max_ms=60_000)
        cancel = threading.Event()
        cancel.set()
        assert trainer.run_chunk(max_batches=5, max_ms=60_000, cancel=cancel).batches == 0
        trainer.run_chunk(max_batches=4, max_ms=60_000)
        runs.append((np.array(trainer.losses), trainer.gen.get_state(), trainer.model.state_dict()))
    (losses_a, gen_a, weights_a), (losses_b, gen_b, weights_b) = runs
    assert len(losses_a) == 55
    np.testing.assert_array_equal(losses_a, losses_b)
    assert torch.equal(gen_a, gen_b)
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)


class _SetAfter:
    """A cancel flag that turns on after ``n`` looks."""

    def __init__(self, n: int) -> None:
        self.n = n

    def is_set(self) -> bool:
        self.n -= 1
        return self.n < 0


def test_a_cancel_stops_training_ahead_at_the_next_batch():
    trainer = _trainer()
    trainer.prefetch = True
    trainer.run_chunk(max_batches=2, max_ms=60_000)  # the step time is known from here on
    progress = trainer.run_chunk(max_batches=40, max_ms=60_000, cancel=_SetAfter(3))
    assert progress.batches <= 3  # the batch prepared ahead is trained, then it stops


def test_a_failing_step_leaves_the_generator_as_if_nothing_was_prepared_ahead(monkeypatch):
    states = []
    for prefetch in (False, True):
        trainer = _trainer()
        trainer.prefetch = prefetch
        fit, calls = trainer._fit, {"n": 0}

        def failing(x, targets, fit=fit, calls=calls):
            calls["n"] += 1
            if calls["n"] == 5:
                raise RuntimeError("out of memory")
            return fit(x, targets)

        monkeypatch.setattr(trainer, "_fit", failing)
        with pytest.raises(RuntimeError, match="out of memory"):
            trainer.run_chunk(max_batches=20, max_ms=60_000)
        states.append((trainer.gen.get_state(), trainer.step))
    assert states[0][1] == states[1][1] == 4
    assert torch.equal(states[0][0], states[1][0])


def test_more_epochs_carry_on_where_training_finished():
    trainer = _trainer(TrainConfig(batch_size=400, epochs=1, eval_every=1000))
    assert trainer.run_chunk(max_ms=60_000).finished
    trainer.configure(TrainConfig(batch_size=400, epochs=2, eval_every=1000), None, CPU)
    progress = trainer.run_chunk(max_ms=60_000)
    assert progress.finished and progress.step == 4 and len(progress.test) == 2


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
def test_each_optimiser_trains(kind):
    lr = {"sgd": 0.2, "momentum": 0.02}.get(kind, 0.005)  # plain SGD starts slowly
    trainer = _trainer(TrainConfig(optimizer=kind, lr=lr, epochs=5))
    progress = trainer.run_chunk(max_batches=40, max_ms=60_000)
    assert progress.losses[-10:].mean() < progress.losses[:10].mean() - 0.05


def test_models_that_cannot_learn_mnist_are_refused_in_one_sentence():
    opened = open_model("transformer")
    trainer = Trainer(opened.model, opened.input, CPU, name=opened.name)
    with pytest.raises(TrainingRefused, match="cannot be trained on MNIST: it takes") as info:
        trainer.configure(TrainConfig(), None, CPU)
    assert str(info.value).count(". ") == 0

    wide = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 1000))
    trainer = Trainer(wide, LENET_INPUT, CPU, name="Wide")
    with pytest.raises(TrainingRefused, match=r"\[2, 1000\], not 10 class scores"):
        trainer.configure(TrainConfig(), None, CPU)


def test_a_folder_without_mnist_is_refused(tmp_path):
    with pytest.raises(TrainingRefused, match="does not hold MNIST"):
        load_data(tmp_path)


def test_reinitialise_calls_reset_parameters_seeded():
    a, b = untrained_lenet(1), untrained_lenet(2)
    assert reinitialise(a, seed=5) == (5, 0)
    reinitialise(b, seed=5)
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q), name


def test_the_engine_trains_reinitialises_and_forgets_the_training():
    engine = Engine(bundled_lenet())
    before = engine.weights()["conv1.weight"]
    result = engine.reinitialise()
    assert "Re-initialised 5 modules" in result.message
    assert not torch.equal(engine.weights()["conv1.weight"], before)
    assert engine.training_state() is None
    progress = engine.train_chunk(SMALL, None, max_batches=4, max_ms=60_000)
    assert progress.step == 4 and engine.training_state().meta["step"] == 4
    engine.reinitialise()
    assert engine.training_state() is None


def test_a_session_holds_the_training_and_it_resumes_exactly(tmp_path):
    """Train, save mid-epoch, load into a fresh model: the curves and optimiser state come back
    and the next steps are the same as if training had never stopped."""
    trainer = _trainer(TrainConfig(batch_size=16, epochs=1, eval_every=5, log_every=3))
    trainer.run_chunk(max_batches=12, max_ms=60_000)
    weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    path = tmp_path / "mid.netinspector"
    save_session(path, SessionState(weights=weights, training=trainer.snapshot()))
    saved = load_session(path)
    assert saved.training.meta["step"] == 12 and saved.training.meta["pos"] == 192

    model = untrained_lenet(7)
    model.load_state_dict(saved.weights)
    resumed = Trainer(model, LENET_INPUT, CPU)
    back = resumed.restore(saved.training, CPU)
    assert back.step == 12 and np.array_equal(back.losses, trainer.progress().losses)
    adam = resumed.optimizer.state_dict()["state"][0]
    assert torch.equal(adam["exp_avg"], trainer.optimizer.state_dict()["state"][0]["exp_avg"])

    ahead = trainer.run_chunk(max_batches=5, max_ms=60_000)
    again = resumed.run_chunk(max_batches=5, max_ms=60_000)
    np.testing.assert_allclose(again.losses, ahead.losses, rtol=1e-5)
    for p, q in zip(trainer.model.parameters(), resumed.model.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_sessions_without_training_still_open(tmp_path):
    path = tmp_path / "plain.netinspector"
    save_session(path, SessionState(weights=untrained_lenet().state_dict()))
    assert load_session(path).training is None


def test_a_damaged_training_record_is_refused(tmp_path):
    trainer = _trainer()
    trainer.run_chunk(max_batches=3, max_ms=60_000)
    snap = trainer.snapshot()
    bad = dict(snap.arrays)
    bad["curve/loss"] = bad["curve/loss"][:1]
    with pytest.raises(ValueError, match="loss curve"):
        check_snapshot(snap.meta, bad)
    with pytest.raises(ValueError, match="settings are wrong"):
        check_snapshot({**snap.meta, "config": {**snap.meta["config"], "lr": -1.0}}, snap.arrays)
    with pytest.raises(ValueError, match="unknown parameter"):
        check_snapshot(snap.meta, {**snap.arrays, "optim/nope.weight/exp_avg": torch.zeros(1)})
    # In a file: the session is refused as a whole, in one sentence.
    path = tmp_path / "bad.netinspector"
    save_session(path, SessionState(weights=trainer.model.state_dict(), training=snap))
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    meta = json.loads(members["session.json"])
    meta["training"]["step"] = "many"
    members["session.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(SessionError, match=r"bad\.netinspector is damaged: its training"):
        load_session(path)


@pytest.mark.parametrize("how", ["reset", "load_weights"])
def test_replacing_the_weights_forgets_the_training_and_the_optimiser(how):
    """Reset weights (or a session's weights put in) changes the weights under the optimiser:
    Adam's moments, the curves and the step count belong to weights that are gone."""
    engine = Engine(bundled_lenet())
    bundled = engine.weights()
    assert not engine.reset().training_forgotten  # nothing trained: nothing to forget
    engine.train_chunk(SMALL, None, max_batches=4, max_ms=60_000)
    assert engine.trainer().optimizer.state  # Adam's moments of the trained weights
    result = engine.reset() if how == "reset" else engine.load_weights(bundled)
    assert result.training_forgotten and "training so far" in result.message
    assert engine.training_state() is None and engine.trainer().optimizer is None
    assert engine.trainer().progress().losses.size == 0
    # Training again is training afresh from the bundled weights: a new engine's first steps.
    again = engine.train_chunk(SMALL, None, max_batches=3, max_ms=60_000)
    fresh = Engine(bundled_lenet()).train_chunk(SMALL, None, max_batches=3, max_ms=60_000)
    assert again.step == 3
    np.testing.assert_allclose(again.losses, fresh.losses, rtol=1e-5)


def test_a_session_whose_mnist_folder_is_gone_trains_on_with_the_sample(mnist_folder):
    """Saved on a computer with an MNIST folder, opened where it is missing: the curves, the
    step count and the optimiser's state come back, training goes on with the bundled sample
    and one sentence names the folder."""
    import shutil

    trainer = Trainer(untrained_lenet(0), LENET_INPUT, CPU)
    trainer.configure(SMALL, str(mnist_folder), CPU)
    trainer.run_chunk(max_batches=4, max_ms=60_000)
    snap = trainer.snapshot()
    assert snap.meta["data"] == str(mnist_folder) and snap.meta["train_size"] == 96
    shutil.rmtree(mnist_folder)

    model = untrained_lenet(7)
    model.load_state_dict(trainer.model.state_dict())
    resumed = Trainer(model, LENET_INPUT, CPU)
    back = resumed.restore(snap, CPU)
    assert back.message == (
        f"The session's MNIST folder {mnist_folder} is missing, so its training goes on with "
        "the bundled sample."
    )
    assert back.folder == "" and "bundled sample" in back.source
    assert back.step == 4 and np.array_equal(back.losses, trainer.progress().losses)
    adam = resumed.optimizer.state_dict()["state"][0]["exp_avg"]
    assert torch.equal(adam, trainer.optimizer.state_dict()["state"][0]["exp_avg"])
    more = resumed.run_chunk(max_batches=2, max_ms=60_000)
    assert more.step == 6 and more.message == ""


def test_a_session_folder_that_no_longer_holds_mnist_is_named_too(mnist_folder):
    trainer = Trainer(untrained_lenet(0), LENET_INPUT, CPU)
    trainer.configure(SMALL, str(mnist_folder), CPU)
    trainer.run_chunk(max_batches=2, max_ms=60_000)
    snap = trainer.snapshot()
    for idx in mnist_folder.iterdir():
        idx.unlink()
    load_data(None)  # the folder's images out of the cache, as in a new process
    back = Trainer(untrained_lenet(0), LENET_INPUT, CPU).restore(snap, CPU)
    assert f"folder {mnist_folder} no longer holds MNIST" in back.message
    assert back.folder == "" and back.step == 2


def test_reset_after_training_brings_back_the_opening_weights():
    assert_reset_brings_back_the_opening_weights(
        Engine(bundled_lenet()),
        lambda e: e.train_chunk(SMALL, None, max_batches=2, max_ms=60_000),
    )
