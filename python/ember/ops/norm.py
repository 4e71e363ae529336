"""Normalisation and dropout: batch_norm, layer_norm, group_norm, dropout."""

from __future__ import annotations

__all__: list = []
