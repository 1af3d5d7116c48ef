"""normalization modules of dm.nn (being written)."""
__all__ = []
