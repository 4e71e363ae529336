"""Differentiable ops: each family's forward calls ember._C, its backward
(written in Tensor ops) sits beside it."""
