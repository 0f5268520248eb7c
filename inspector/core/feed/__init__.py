"""Feeding a model every input it takes: the inputs by name, read from the model, and the
hook that lets the app call ``model(x)`` with the main one."""
