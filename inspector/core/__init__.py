"""Everything Net Inspector computes, in plain Python, torch and numpy.

Nothing below this package imports Qt: it can be used and tested without a screen.
"""
