"""The Qt side: a worker thread that owns the model, and panels that only render its results."""
