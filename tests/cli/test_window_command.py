import json

from inspector import __version__
from inspector.cli import main
from tests.conftest import run_inspector


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_device_is_refused(capsys):
    assert main(["--device", "tpu:3"]) == 2
    assert "tpu:3" in capsys.readouterr().err


def test_bench_reports_figures_as_json(tmp_path):
    """A short stroke through the real window; the figures, not a speed, are checked here."""
    # The child process must not touch the user's settings or autosave either.
    out = run_inspector("bench", "--events", "40", "--json", tmp_path=tmp_path, check=True)
    report = json.loads(out.stdout[out.stdout.index("{") :])
    assert report["events"] == 41
    assert report["frames_measured"] == 41
    latency = report["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["max"]
    before, after = report["bare_forward_before_after_ms"]  # measured around the stroke
    assert min(before, after) <= report["bare_forward_ms"] <= max(before, after)
    assert report["bare_forward_ms"] > 0
    assert 0 < report["requests_computed"] <= report["requests_submitted"]
    assert report["final_frame_ms"] > 0
    # The GUI thread's CPU time: some, and never more than the stroke's own time.
    assert 0 < report["gui_thread_busy"] <= 1
    assert 0 < report["gui_ms_per_frame"] <= 1000 * report["duration_s"]
