"""Neural networks: functional ops (modules, losses and init come with their issue)."""

from . import functional  # noqa: F401
