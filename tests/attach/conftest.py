"""A training script running in a subprocess with ``inspector.attach``, for the attach tests."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("training_script.py")
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "attach-test-token"


def free_port(pairs: int = 1) -> int:
    """A port p with p .. p + pairs - 1 free (ranks listen on base + LOCAL_RANK)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + pairs < 65535 and all(_free(port + i) for i in range(pairs)):
            return port
    raise RuntimeError("no free ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Training:
    """The script in a subprocess; ``stop()`` asks it to finish, ``wait()`` its exit."""

    def __init__(self, tmp: Path, port: int, ranks: int = 1, token: str = TOKEN) -> None:
        self.port, self.stop_file = port, tmp / "stop"
        env = {**os.environ, "STOP_FILE": str(self.stop_file), "NET_INSPECTOR_PORT": str(port),
               "NET_INSPECTOR_TOKEN": token, "PYTHONPATH": str(ROOT)}  # fmt: skip
        env.pop("LOCAL_RANK", None)
        if ranks > 1:
            command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node",
                       str(ranks), "--master_port", str(free_port()), str(SCRIPT)]  # fmt: skip
        else:
            command = [sys.executable, str(SCRIPT)]
        self.log = tmp / "training.log"
        self._log = open(self.log, "w")  # noqa: SIM115 (closed in wait)
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait_listening(self, count: int = 1, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while self.output().count(" listens on ") < count:
            assert self.process.poll() is None, f"the training died:\n{self.output()}"
            assert time.monotonic() < deadline, f"the probe never listened:\n{self.output()}"
            time.sleep(0.1)

    def stop(self) -> None:
        self.stop_file.touch()

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()


@pytest.fixture
def training(tmp_path):
    run = Training(tmp_path, free_port())
    run.wait_listening()
    yield run
    run.stop()
    try:
        run.process.wait(30)
    finally:
        run.kill()
