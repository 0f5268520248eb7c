"""The live app state: one event per field, only on real change, batched updates."""

import numpy as np
import pytest

from inspector.core.edits.spec import Intervention
from inspector.core.state import AppState, ModelRef


def test_listeners_hear_changes_with_the_new_value():
    state = AppState()
    heard = []
    state.on("learning_rate", heard.append)
    state.learning_rate = 0.5
    state.learning_rate = 0.5  # no change: no event
    state.learning_rate = 0.1
    assert heard == [0.5, 0.1]


def test_arrays_are_compared_by_identity():
    state = AppState()
    heard = []
    state.on("drawing", heard.append)
    drawing = np.ones((32, 32), np.float32)
    state.drawing = drawing
    state.drawing = drawing
    assert len(heard) == 1 and heard[0] is drawing


def test_update_emits_after_all_fields_are_set():
    state = AppState()
    seen = []
    state.on("loss_kind", lambda _v: seen.append((state.loss_kind, state.target_class)))
    state.update(loss_kind="ce", target_class=7)
    assert seen == [("ce", 7)]
    with pytest.raises(AttributeError, match="no_such"):
        state.update(no_such=1)


def test_update_emits_each_changed_field_once_with_its_last_value():
    state = AppState()
    heard = []
    state.on("target_class", heard.append)
    state.on("zero_grad", heard.append)
    state.update(target_class=3, zero_grad=True)  # zero_grad unchanged: no event
    assert heard == [3]


def test_every_field_says_whether_it_is_kept():
    from dataclasses import dataclass

    from inspector.core.state_fields import declared, kept

    with pytest.raises(TypeError, match="forgotten"):

        @declared
        @dataclass
        class Careless:
            fine: int = kept(0)
            forgotten: int = 0


# A value other than the default for every setting a session keeps.
CHANGED = {
    "brush_radius": 2.5,
    "model": ModelRef("tiny_lm", "w.pt", (1, 16), True, "int64", ("x=1,16:int64", "mask=1,16")),
    "input_seeds": (("mask", 3),),
    "active_device": "cuda:1",
    "selected_module": "blocks.0",
    "output_index": 2,
    "loss_kind": "ce",
    "target_class": 7,
    "zero_grad": False,
    "learning_rate": 0.5,
    "backward_step": 4,
    "comparing": False,  # only kept while A is pinned
    "interventions": (Intervention(2, "max_pool2d", "scale", channel=1, value=0.5),),
}


def test_a_session_keeps_every_setting_the_state_declares(tmp_path):
    from inspector.core.files.session import SETTINGS, load_session, save_session
    from inspector.core.files.session_fields import session_from, session_model, state_values

    kept = {s.path[0] for s in SETTINGS}
    assert kept == set(CHANGED)  # a new kept field needs a value here
    assert "input_dtype" in {s.key for s in SETTINGS}
    state = AppState(**CHANGED)
    path = tmp_path / "s.netinspector"
    save_session(path, session_from(state, {"w": np.ones(2, np.float32)}))
    saved = load_session(path)
    assert state_values(saved) == CHANGED  # a missing model file stays as typed
    # Reopened as it was, with the session's weights instead of its first weights file.
    inputs = ("x=1,16:int64", "mask=1,16")
    assert session_model(saved) == ModelRef("tiny_lm", None, (1, 16), True, "int64", inputs)


def test_a_bad_input_dtype_is_refused_naming_it(tmp_path):
    import json
    import zipfile

    from inspector.core.files.session import SessionError, SessionState, load_session, save_session

    path = tmp_path / "bad.netinspector"
    save_session(path, SessionState(input_dtype="int64"))
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    meta = json.loads(parts["session.json"])
    assert meta["input_dtype"] == "int64"
    meta["input_dtype"] = "float128"
    parts["session.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(SessionError, match=r"bad\.netinspector is damaged: its input dtype"):
        load_session(path)


def test_remembered_settings_are_read_back_from_their_stored_text():
    from inspector.core.state_fields import Invalid, remembered

    table = remembered(AppState)
    assert table["loss/zero_grad"][0] == "zero_grad"
    assert table["loss/zero_grad"][1].read_setting("false") is False
    assert table["loss/class"][1].read_setting("3") == 3
    assert table["train/data"][1].read_setting("") == ""
    with pytest.raises(Invalid):
        table["loss/kind"][1].read_setting("hinge")
    with pytest.raises(Invalid):
        table["loss/lr"][1].read_setting("abc")
