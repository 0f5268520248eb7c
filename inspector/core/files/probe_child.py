"""The child process of ``probe``: limit memory, open the model, run it once, exit."""

from __future__ import annotations

import json
import os
import sys

from inspector.core.files.probe import OUT_OF_MEMORY


def main() -> None:
    """In the child: limit memory, open the model, run it once. Exit 0 whether it opened or
    raised (the parent repeats the open and reports it); ``OUT_OF_MEMORY`` if memory ran out;
    a crash is the parent's to see."""
    request = json.loads(sys.argv[1])
    try:
        import resource

        limit = int(request["memory"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    try:
        from inspector.core.feed.settle import settle
        from inspector.core.files.loading import open_model

        opened = open_model(
            request["spec"],
            request["weights"],
            request["trust"],
            tuple(shape) if isinstance(shape := request["input_shape"], list) else shape,
            request["input_dtype"],
            probe=False,
            inputs=request.get("inputs", ()),
        )
        settle(opened)
    except MemoryError:
        os._exit(OUT_OF_MEMORY)
    except BaseException as exc:  # any failure: the parent opens it again and reports it
        if "memory" in str(exc).lower() and "alloc" in str(exc).lower():
            os._exit(OUT_OF_MEMORY)  # torch's "DefaultCPUAllocator: can't allocate memory"
    os._exit(0)
