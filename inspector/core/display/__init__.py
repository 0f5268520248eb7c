"""display: which picture fits what a model returned."""
