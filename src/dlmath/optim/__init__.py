"""Optimisers (torch.optim) (being written)."""
