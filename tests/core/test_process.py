import json
import platform
import subprocess
import sys

from tests.conftest import isolated_env

CHILD = """
import json, sys, torch
from inspector.core.runtime.memory import keep_freed_memory
before = torch.get_num_threads()
from inspector.core.runtime.process import prepare_window_process
prepare_window_process()
print(json.dumps({"before": before, "threads": torch.get_num_threads(),
                  "switch": sys.getswitchinterval(), "kept": keep_freed_memory()}))
"""


def test_a_window_process_leaves_torch_threads_to_the_worker_and_passes_the_gil_quickly(tmp_path):
    # In a child: these settings are the whole process's, and this one runs other tests.
    out = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=isolated_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["threads"] == 1 and got["before"] >= 1
    assert got["switch"] == 0.001
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert got["kept"] is glibc
