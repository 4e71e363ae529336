"""Build facts: which backends this ember was compiled with."""

from . import cuda  # noqa: F401
