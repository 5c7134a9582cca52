"""The package version, in its own module so that any part of the package can read it."""

__version__ = "0.1.0"
