"""Training in the window: chunks of a few batches on the worker, one ``Job`` each.

While it trains, ``depth`` chunks are kept queued (1: the next is queued when the last comes
back), so a forward of the user's drawing gets its turn between chunks (the runner runs the
jobs it has taken, then the newest forward, then the jobs queued since) and the activations,
prediction and weights follow the learning. A depth of 2 saves the worker the round trip
through the GUI thread but lets the drawing's forward run only every other chunk; measured
while drawing, it gained nothing (``bench --train``), so 1 it is. The panels, the drawing's
forward and the weights panel are refreshed a few times a second, not after every chunk.
Pausing keeps everything (weights, optimiser state, curves, the epoch's place); closing the
window stops a chunk at its next batch. Replacing the weights (Re-initialise, Reset weights)
forgets the training: the engine drops it, and the dock shows it gone.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QProgressBar

from inspector.core.runtime.schedule import KNOBS
from inspector.core.runtime.threads import usable_cores
from inspector.core.state import AppState
from inspector.core.training.setup import TrainConfig, mnist_refusal
from inspector.core.training.snapshot import TrainingSnapshot
from inspector.core.training.trainer import TrainProgress
from inspector.gui.training.panel import TrainingPanel

REFRESH_S = 0.25  # panels, the drawing's forward and the weights: at most 4 times a second
# While a stroke is drawn its own forwards already update the activations and the prediction
# after every chunk; the curves and weights then refresh twice a second, since each refresh
# is GUI time the training waits for (bench --train: 4,700 images/s while drawing at 4 a
# second, 4,860 at 2, 5,400 at 1).
REFRESH_DRAWING_S = 0.5
CHUNK_BATCHES, CHUNK_MS = KNOBS.chunk_batches, KNOBS.chunk_ms  # core.runtime.schedule
DEPTH = 1  # chunks queued ahead while training


class TrainingControl(QObject):
    chunkDone = Signal(object)  # TrainProgress of every chunk
    progressShown = Signal(object)  # TrainProgress, when the panels showed it
    stopped = Signal(str)  # why training stopped: paused, finished, or the refusal
    weightsSaved = Signal(str)
    restored = Signal(object)  # TrainProgress of a session's training, taken back
    message = Signal(str, bool)  # a sentence, whether it is a warning
    showNow = Signal()  # the weights changed: the drawing's forward and parameters again

    def __init__(self, state: AppState, compute, panel: TrainingPanel, input_spec) -> None:
        super().__init__(panel)
        self.state, self.compute, self.panel = state, compute, panel
        self.input_spec = input_spec  # what the current model takes (checked for MNIST)
        self.running = False
        self.queued = 0  # chunks queued or running on the worker
        self._run_id = 0  # which Train press (or One batch) a chunk belongs to
        self._refused_run = -1  # the run already stopped by a refusal: its other chunks say so too
        self.depth = DEPTH
        # torch threads in a chunk; None: every core, one fewer while a stroke is drawn
        self.chunk_threads: int | None = None
        self.last: TrainProgress | None = None
        self.restore_note = ""  # what the last session's training restore had to say
        self.chunk_batches, self.chunk_ms = CHUNK_BATCHES, CHUNK_MS
        self.images, self.seconds = 0, 0.0  # trained in this window (the benchmark reads them)
        self._shown_at = 0.0
        self.refresh_s = REFRESH_S
        self.bar = QProgressBar()
        self.bar.setObjectName("trainingProgressBar")
        self.bar.setMaximumWidth(220)
        self.bar.setToolTip("Training: the current epoch's progress")
        self.bar.setVisible(False)
        panel.trainToggled.connect(self.toggle)
        panel.stepRequested.connect(self.step_once)
        panel.reinitRequested.connect(self.reinitialise)
        panel.saveWeightsRequested.connect(self.choose_weights_file)
        self.state.on("selected_module", panel.health.set_module)
        panel.health.set_module(self.state.selected_module)
        self.compute.modelLoaded.connect(self._on_model_loaded)
        self.compute.forwardReady.connect(self._on_forward)
        self._checked: tuple | None = None  # the input and output last checked for MNIST
        self.compute.weightsUpdated.connect(self._on_weights_updated)
        self.compute.workCancelled.connect(self._on_cancelled)

    @property
    def in_flight(self) -> bool:
        return self.queued > 0

    def config(self) -> TrainConfig:
        s = self.state
        return TrainConfig(optimizer=s.train_optimizer, lr=s.train_lr, batch_size=s.train_batch,
                           epochs=s.train_epochs, augment=s.train_augment)  # fmt: skip

    # -- train, pause, one batch ----------------------------------------------------------
    @Slot()
    def toggle(self) -> None:
        self.pause() if self.running else self.start()

    @Slot()
    def start(self) -> None:
        if (
            self.last is not None
            and self.last.finished
            and self.state.train_epochs <= len(self.last.test)
        ):
            self.message.emit("Training finished: raise Epochs to carry on.", False)
            return
        self.running = True
        self._run_id += 1
        self.panel.set_running(True)
        self.bar.setVisible(True)
        self._top_up()

    @Slot()
    def pause(self) -> None:
        if self.running:
            self.running = False
            self.panel.set_running(False)
            self.stopped.emit("paused")
            self.message.emit("Training paused; press Train to carry on.", False)

    @Slot()
    def step_once(self) -> None:
        if not self.running and not self.queued:
            self._run_id += 1
            self._queue(batches=1)

    def _top_up(self) -> None:
        while self.running and self.queued < self.depth:
            self._queue()

    def _queue(self, batches: int | None = None) -> None:
        self.queued += 1
        config, folder = self.config(), self.state.train_data or None
        batches, ms, threads = batches or self.chunk_batches, self.chunk_ms, self._threads()

        run_id = self._run_id
        done = lambda result: self._chunk_done(result, run_id)  # noqa: E731
        self.compute.train_chunk(config, folder, batches, ms, threads, done)

    def _threads(self) -> int:
        """Every core for a chunk, but one fewer while the user draws: the GUI thread then
        needs a core, and a team of threads with one of them waiting for the CPU runs slower
        than one thread fewer (``bench --train``: LeNet while drawing 4,200 images/s on 2
        threads, 4,600 on 1; 6,200 on 2 when not drawing). With a core left, the trainer
        prepares the next batch in a second thread (``Trainer.prefetch``)."""
        if self.chunk_threads is not None:
            return self.chunk_threads
        cores = usable_cores()
        drawing = self.state.stroking
        return max(1, cores - 1) if drawing else cores

    def _chunk_done(self, result, run_id: int) -> None:
        self.queued = max(0, self.queued - 1)
        if isinstance(result, str):  # refused: the model, the folder, or a failure
            if run_id != self._refused_run:
                self._refused_run = run_id
                self._stop(result, warning=True)
            return
        self.last = result
        self.images += result.images
        self.seconds += result.seconds
        self.chunkDone.emit(result)
        if result.finished and self.running:
            self._stop("finished")
        now = time.monotonic()
        every = REFRESH_DRAWING_S if self.state.stroking else self.refresh_s
        if not self.running or now - self._shown_at >= max(every, self.refresh_s):
            self._shown_at = now
            self._show(result)
        self._top_up()

    def _stop(self, why: str, warning: bool = False) -> None:
        self.running = False
        self.panel.set_running(False)
        if warning:
            self.panel.set_status(why)
            self.message.emit(why, True)
        self.stopped.emit(why)

    def _show(self, progress: TrainProgress) -> None:
        """Curves, status, progress bar; the drawing's forward and the weights panel again."""
        self.panel.show_progress(progress)
        self.bar.setVisible(True)
        self.bar.setMaximum(progress.steps_per_epoch)
        self.bar.setValue(progress.step_in_epoch)
        self.bar.setFormat(f"epoch {progress.epoch}/{progress.epochs} · %p%")
        self.showNow.emit()
        self.progressShown.emit(progress)

    # -- re-initialise, reset, save ------------------------------------------------------------
    @Slot()
    def reinitialise(self) -> None:
        self.pause()
        self.compute.reinitialise()  # answered with weightsUpdated, which this dock follows

    @Slot()
    def reset_weights(self) -> None:
        """Loss and backward's Reset weights: paused first, so that no chunk queued after the
        reset trains the weights put back before the dock shows the training forgotten."""
        self.pause()
        self.compute.reset_weights()

    @Slot(object)
    def _on_weights_updated(self, result) -> None:
        if result.training_forgotten:
            self._forget()

    def _forget(self) -> None:
        self.last = None
        self.panel.show_progress(None)
        self.bar.setVisible(False)

    @Slot()
    def choose_weights_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.panel, "Save weights", "weights.safetensors", "safetensors (*.safetensors)"
        )
        if path:
            self.save_weights(Path(path))

    def save_weights(self, path: Path) -> None:
        """Write the weights as they are now (between chunks) to ``path``, atomically."""

        def done(saved: str) -> None:
            self.message.emit(f"Saved the weights to {saved} (open them with --weights).", False)
            self.weightsSaved.emit(saved)

        self.compute.save_weights(path, done)

    # -- sessions (gui.persistence) -------------------------------------------------------------
    def request_snapshot(self, done) -> None:
        """``done(snapshot or None)`` with the training so far, taken between two chunks."""
        self.compute.training_state(done)

    def show_restored(self, snapshot: TrainingSnapshot | None, progress, note: str) -> None:
        """A session's training, taken back by the engine with its model (``progress``, a
        ``TrainProgress``; None with ``note`` when it could not be): its settings and curves.
        A data folder missing here was replaced by the bundled sample: ``restore_note`` says
        so."""
        self.restore_note = note
        if snapshot is not None:
            config = snapshot.meta["config"]
            self.state.update(
                train_optimizer=config["optimizer"],
                train_lr=config["lr"],
                train_batch=config["batch_size"],
                train_epochs=config["epochs"],
                train_augment=config["augment"],
            )
        if progress is None:
            return
        self.last = progress
        self.state.train_data = progress.folder  # "" when the session's is missing here
        self._show(progress)
        if progress.message:
            self.restore_note = progress.message
            self.panel.set_status(progress.message)
        self.restored.emit(progress)

    # -- the model changed ------------------------------------------------------------------------
    @Slot(object)
    def _on_model_loaded(self, loaded) -> None:
        self.running = False
        self.panel.set_running(False)
        self._forget()
        # What it takes is known now; what it gives, after its first forward (below). A
        # refusal must not outlive its model, even if the new one's forward fails.
        self._checked = None
        self.input_spec = loaded.input
        self.panel.set_refusal(mnist_refusal(loaded.input, None))

    @Slot(object)
    def _on_forward(self, result) -> None:
        """Whether this model can be trained on MNIST, told by Train's state: checked again
        when the input or the output's shape changes (another output picked), until training
        starts: the trainer then keeps the output it started with."""
        if self.running or self.last is not None:
            return
        spec, shape = self.input_spec, result.output.shape
        if (spec, shape) != self._checked:
            self._checked = (spec, shape)
            self.panel.set_refusal(mnist_refusal(spec, shape))

    @Slot(str)
    def _on_cancelled(self, kind: str) -> None:
        if kind == "train":
            self.queued = max(0, self.queued - 1)
            self._stop("cancelled")
