"""Utilities for training (torch.nn.utils) (being written)."""
