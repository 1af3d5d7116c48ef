"""``nn.Parameter``: a Tensor that a Module registers as one of its learnable parameters."""
__all__ = []
