"""``python -m inspector.train``: train the bundled LeNet (see ``inspector.core.train``)."""

from inspector.core.train import main

if __name__ == "__main__":
    raise SystemExit(main())
