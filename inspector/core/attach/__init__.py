"""Attach: inspect a model that trains in another process (a script, a GPU server, a rank).

``probe`` runs inside the training process and serves the engine's typed operations on a
ROUTER socket; ``client`` and ``remote`` speak them from the viewer. ``codec`` is the wire
format: JSON headers and raw numpy buffers, never pickles. Nothing here imports Qt.
"""
