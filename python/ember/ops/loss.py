"""Losses: cross_entropy, nll_loss, mse_loss, l1_loss, smooth_l1_loss,
binary_cross_entropy_with_logits."""

from __future__ import annotations

__all__: list = []
