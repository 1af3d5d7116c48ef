"""Distances between pairs of vectors (torch.nn.modules.distance): ``CosineSimilarity``
and ``PairwiseDistance``.

Neither has parameters: each is its functional form (``dm.nn.functional``) with the
arguments stored on the module, so it can sit in a ``Sequential`` or be swapped for
another metric (siamese networks, contrastive heads, retrieval scoring).
"""
from __future__ import annotations

from .. import functional as F
from .module import Module, _named_error

__all__ = ["PairwiseDistance", "CosineSimilarity"]


class CosineSimilarity(Module):
    """<x1, x2> / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` (x1, x2 broadcast):
    1 for parallel vectors, 0 for orthogonal ones, -1 for opposite ones. ``eps`` keeps a
    zero vector's similarity at 0 instead of 0/0."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1, x2):
        try:
            return F.cosine_similarity(x1, x2, self.dim, self.eps)
        except (RuntimeError, IndexError) as e:   # name the layer; free on the happy path
            raise _named_error(self, e) from None


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p along the last dim, (N, D) -> (N) (or (N, 1) with ``keepdim``).

    ``eps`` is added to every difference, so the gradient of the norm stays finite where
    x1 = x2 (and a negative ``p`` does not divide by zero). The degree is stored as
    ``self.norm``, as torch.
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1, x2):
        try:
            return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
        except RuntimeError as e:   # name the layer; free on the happy path
            raise _named_error(self, e) from None
