"""Batching sequences of different lengths for recurrent layers (torch.nn.utils.rnn)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(PackedSequence_):
    """A batch of variable-length sequences with the padding squeezed out, as torch's.

    ``data`` holds step 0 of every sequence, then step 1 of those at least 2 long, and so on
    (sequences sorted by decreasing length); ``batch_sizes[t]`` says how many sequences are
    still running at step t. A recurrent layer can then skip the padding entirely.
    ``sorted_indices`` is the order applied to the batch (None when it was already sorted),
    ``unsorted_indices`` its inverse. Make one with ``pack_padded_sequence`` or ``pack_sequence``.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """Convert ``data`` (dtype); the sizes and indices stay as they are."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def double(self):
        import dlmath as dm
        return self.to(dtype=dm.double)

    def float(self):
        import dlmath as dm
        return self.to(dtype=dm.float)

    def half(self):
        import dlmath as dm
        return self.to(dtype=dm.half)

    def long(self):
        import dlmath as dm
        return self.to(dtype=dm.long)

    def int(self):
        import dlmath as dm
        return self.to(dtype=dm.int)

    def cpu(self, *args, **kwargs):
        return self

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    """The inverse of a permutation (an int64 tensor), or None for None."""
    if permutation is None:
        return None
    import dlmath as dm
    order = np.asarray(permutation.detach().numpy())
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size, dtype=order.dtype)
    return dm.tensor(inverse, dtype=permutation.dtype)


def _lengths_array(lengths):
    """Python ints from a list or an int tensor of lengths."""
    if isinstance(lengths, Tensor):
        lengths = lengths.detach().numpy()
    return [int(n) for n in np.asarray(lengths).astype(np.int64).reshape(-1)]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded (T, B, *) batch (``batch_first``: (B, T, *)) whose sequence b is
    ``lengths[b]`` long into a ``PackedSequence`` (differentiable: ``data`` is made of slices
    of ``input``).

    ``enforce_sorted``: the lengths must be in decreasing order (else RuntimeError); with
    False the batch is sorted here and the order kept in ``sorted_indices``.

    >>> import dlmath as dm
    >>> from dlmath.nn.utils.rnn import pack_padded_sequence
    >>> x = dm.tensor([[1, 2, 3], [4, 5, 0]])
    >>> p = pack_padded_sequence(x, [3, 2], batch_first=True)
    >>> p.data.tolist(), p.batch_sizes.tolist()
    ([1, 4, 2, 5, 3], [2, 2, 1])
    """
    import dlmath as dm
    lens = _lengths_array(lengths)
    if input.dim() < 2:
        raise IndexError(f"pack_padded_sequence: input must be (T, B, *) or (B, T, *), got shape {tuple(input.shape)}")
    batch_dim = 0 if batch_first else 1
    batch_size = input.shape[batch_dim]
    sorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-np.asarray(lens, dtype=np.int64), kind="stable")
        sorted_indices = dm.tensor(order, dtype=dm.int64)
        lens = [lens[i] for i in order]
        input = input.index_select(batch_dim, sorted_indices)
    if len(lens) != batch_size:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
                           f"(batch_size={batch_size})")
    if any(a < b for a, b in zip(lens, lens[1:])):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                           "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                           "sidestep this requirement if you do not need ONNX exportability.")
    if lens and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    steps = input.shape[1 if batch_first else 0]
    if lens and lens[0] > steps:
        raise RuntimeError(f"pack_padded_sequence: a length of {lens[0]} exceeds the {steps} steps of the input "
                           f"of shape {tuple(input.shape)}")
    if batch_first:
        input = input.transpose(0, 1)
    batch_sizes = [sum(1 for n in lens if n > t) for t in range(lens[0] if lens else 0)]
    data = dm.cat([input[t, :bs] for t, bs in enumerate(batch_sizes)])
    return PackedSequence(data, dm.tensor(batch_sizes, dtype=dm.int64), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo ``pack_padded_sequence``: (padded (T, B, *) or (B, T, *), lengths (B,) int64), in
    the batch's original order. ``total_length`` pads T further (to fit a DataParallel split).

    Differentiable: the gradient of each step flows back to its row of ``sequence.data``.
    """
    import dlmath as dm
    batch_sizes = _lengths_array(sequence.batch_sizes)
    max_seq_length = len(batch_sizes)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_seq_length}")
        max_seq_length = total_length
    data = sequence.data
    trailing = tuple(data.shape[1:])
    batch = batch_sizes[0] if batch_sizes else 0
    steps, offset = [], 0
    for bs in batch_sizes:
        step = data[offset:offset + bs]
        offset += bs
        if bs < batch:
            step = dm.cat([step, dm.full((batch - bs,) + trailing, padding_value, dtype=data.dtype)])
        steps.append(step)
    for _ in range(max_seq_length - len(batch_sizes)):
        steps.append(dm.full((batch,) + trailing, padding_value, dtype=data.dtype))
    padded = dm.stack(steps)
    lengths = dm.tensor([sum(1 for bs in batch_sizes if bs > b) for b in range(batch)], dtype=dm.int64)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, lengths


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


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded (T, B, *) batch (``batch_first``: (B, T, *)) back into B tensors of shapes
    (lengths[b], *), differentiably.

    torch's version transposes a time-first input *in place* (the caller's tensor is left
    batch-first); dlmath leaves the input as it was.
    """
    lens = _lengths_array(lengths)
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    if len(lens) != padded_sequences.shape[0]:
        raise ValueError(f"unpad_sequence: {len(lens)} lengths for a batch of {padded_sequences.shape[0]} "
                         f"sequences (shape {tuple(padded_sequences.shape)})")
    return [seq[:n] for seq, n in zip(padded_sequences, lens)]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of (L_i, *) tensors: ``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    import dlmath as dm
    lengths = dm.tensor([v.size(0) for v in sequences], dtype=dm.int64)
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of (L_i, *) tensors a ``PackedSequence`` holds, in the original order."""
    padded_sequences, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded_sequences, lengths, batch_first=True)
