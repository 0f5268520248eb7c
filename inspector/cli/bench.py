"""``net-inspector bench``: the benchmarks (``inspector.benchmarks``), figures printed."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from inspector.benchmarks.latency import main as bench_main

    return bench_main(argv)
