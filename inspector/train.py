"""``python -m inspector.train``: the bundled LeNet (``core.training.bundled``)."""

from inspector.core.training.bundled import main

if __name__ == "__main__":
    raise SystemExit(main())
