"""Interventions in the window: the activations' right-click menu, painting into an
activation, the interventions list, and the activation-patching sweep."""
