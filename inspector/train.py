"""``python -m inspector.train``: ``net-inspector train`` (``cli/train.py``)."""

from inspector.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())
