"""The version, apart from the package: modules read it without importing the package's API."""

__version__ = "0.1.0"
