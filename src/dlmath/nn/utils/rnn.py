"""Batching sequences of different lengths for recurrent layers (torch.nn.utils.rnn)."""
from __future__ import annotations

from collections.abc import Iterable

from ...tensor import Tensor

__all__ = ["pad_sequence"]


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_i, *) into one (T, B, *) tensor (``batch_first``: (B, T, *)),
    T = max L_i, filling the missing steps with ``padding_value`` after each sequence
    (``padding_side='left'``: before it).

    Differentiable: each sequence's gradient is its slice of the output's, the padding gets
    none. The result has the first sequence's dtype, as torch.

    >>> import dlmath as dm
    >>> from dlmath.nn.utils.rnn import pad_sequence
    >>> pad_sequence([dm.tensor([1, 2, 3]), dm.tensor([4])], batch_first=True).tolist()
    [[1, 2, 3], [4, 0, 0]]
    """
    import dlmath as dm
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences)}")
    sequences = tuple(sequences)
    if len(sequences) == 0:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"pad_sequence: Expected padding_side to be one of left or right, but got {padding_side}.")
    first = sequences[0]
    if first.dim() == 0:
        raise RuntimeError("pad_sequence: the sequences must have at least one dimension (a length), "
                           "got a 0-d tensor")
    trailing = tuple(first.shape[1:])
    for i, seq in enumerate(sequences):
        if seq.dim() == 0 or tuple(seq.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: sequence {i} has shape {tuple(seq.shape)}, but every sequence "
                               f"must be (L, {', '.join(map(str, trailing))}) like sequence 0's "
                               f"{tuple(first.shape)}".replace(", )", ")"))
    dtype = first.dtype
    max_len = max(seq.shape[0] for seq in sequences)
    padded = []
    for seq in sequences:
        if seq.dtype != dtype:
            seq = seq.to(dtype)
        missing = max_len - seq.shape[0]
        if missing:
            pad = dm.full((missing,) + trailing, padding_value, dtype=dtype)
            seq = dm.cat([seq, pad] if padding_side == "right" else [pad, seq])
        padded.append(seq)
    return dm.stack(padded, dim=0 if batch_first else 1)
