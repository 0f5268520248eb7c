"""Interventions: edit a step's value during the forward (zero, scale, set, clamp, paint, or
patch from another run) and let the model's own layers compute every later step from it."""
