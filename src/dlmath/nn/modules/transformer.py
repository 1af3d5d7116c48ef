"""Multi-head attention and the Transformer encoder (torch.nn's names, keys, init and masks).

Attention lets every position take a weighted average of the values at every other
position, the weights a softmax of query-key dot products scaled by 1/sqrt(d_k) (without
the scale, the dot products of d_k unit-variance terms have variance d_k and the softmax
saturates). Several heads do this in parallel on slices of the embedding. An encoder
layer adds a position-wise MLP, with residual connections and LayerNorm around both.
"""
from __future__ import annotations

import copy
import math

from ...creation import empty, zeros
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
           "NonDynamicallyQuantizableLinear"]


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under torch's name for MultiheadAttention's output projection (same keys, repr)."""


def _as_additive(mask, dtype, what):
    """A bool mask (True = may NOT attend, nn.MultiheadAttention's convention) as -inf / 0, or
    a float mask as it is (added to the scores)."""
    if mask is None:
        return None
    if mask.dtype == dtype:
        return mask
    if mask.dtype.kind == "b":
        return zeros(tuple(mask.shape), dtype=dtype).masked_fill(mask, float("-inf"))
    raise AssertionError(f"MultiheadAttention: only bool and floating types of {what} are supported "
                         f"(got {mask.dtype})")


class MultiheadAttention(Module):
    """softmax(Q K^T / sqrt(d) + mask) V in ``num_heads`` heads of d = embed_dim / num_heads.

    Parameters: ``in_proj_weight`` (3E, E) (Q, K and V projections stacked, xavier_uniform),
    ``in_proj_bias`` (3E, zeros) and ``out_proj`` (E -> E, zero bias). With keys or values of
    another width (``kdim``, ``vdim``) the projections are separate, as torch's:
    ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim).
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                             f"and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are not supported "
                                      "by dlmath")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        # keys and values of other widths (cross-attention to another stream): three separate
        # projections, torch's q/k/v_proj_weight, instead of one stacked in_proj_weight
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.add_zero_attn, self.bias_k, self.bias_v = False, None, None   # torch's attributes, unused here
        kw = {} if dtype is None else {"dtype": dtype}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: Need attn_mask if specifying the is_causal hint. The causal "
                               "mask of L positions is dm.triu(dm.full((L, L), float('-inf')), diagonal=1).")
        E, heads, d = self.embed_dim, self.num_heads, self.head_dim
        batched = query.dim() == 3
        if query.dim() not in (2, 3) or key.dim() != query.dim() or value.dim() != query.dim():
            raise AssertionError(f"MultiheadAttention: query, key and value must all be 2-D (unbatched) or 3-D, "
                                 f"got {tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        L, B, _ = query.shape
        S = key.shape[0]
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"MultiheadAttention: key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        if key.shape[1] != B:
            raise RuntimeError(f"MultiheadAttention: query batch size {B} does not match key/value batch size "
                               f"{key.shape[1]}")
        if query.shape[-1] != E or key.shape[-1] != self.kdim or value.shape[-1] != self.vdim:
            raise AssertionError(f"MultiheadAttention: was expecting embedding dimensions of {E} (query), "
                                 f"{self.kdim} (key) and {self.vdim} (value), but got query "
                                 f"{tuple(query.shape)}, key {tuple(key.shape)}, value {tuple(value.shape)}")
        b = self.in_proj_bias
        if self._qkv_same_embed_dim:
            wq, wk, wv = self.in_proj_weight.chunk(3)
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        bq, bk, bv = b.chunk(3) if b is not None else (None, None, None)
        # (L, B, E) -> (B, heads, L, d)
        q = F.linear(query, wq, bq).reshape(L, B, heads, d).permute(1, 2, 0, 3)
        k = F.linear(key, wk, bk).reshape(S, B, heads, d).permute(1, 2, 0, 3)
        v = F.linear(value, wv, bv).reshape(S, B, heads, d).permute(1, 2, 0, 3)
        mask = _as_additive(attn_mask, q.dtype, "attn_mask")
        if mask is not None:
            if mask.dim() == 2:
                if tuple(mask.shape) != (L, S):
                    raise RuntimeError(f"MultiheadAttention: The shape of the 2D attn_mask is {tuple(mask.shape)}, but should be {(L, S)}.")
            elif mask.dim() == 3:
                if not batched and tuple(mask.shape) != (heads, L, S):   # (torch asserts this one)
                    raise AssertionError(f"MultiheadAttention: Expected attn_mask shape to be {(heads, L, S)} "
                                         f"but got {tuple(mask.shape)}")
                if tuple(mask.shape) != (B * heads, L, S):
                    raise RuntimeError(f"MultiheadAttention: The shape of the 3D attn_mask is {tuple(mask.shape)}, but should be "
                                       f"{(B * heads, L, S)}.")
                mask = mask.reshape(B, heads, L, S)
            else:
                raise RuntimeError(f"MultiheadAttention: attn_mask's dimension {mask.dim()} is not supported")
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (B, S):
                raise AssertionError(f"expecting key_padding_mask shape of {(B, S)}, but got "
                                     f"{tuple(key_padding_mask.shape)}")
            pad = _as_additive(key_padding_mask, q.dtype, "key_padding_mask").reshape(B, 1, 1, S)
            mask = pad if mask is None else mask + pad
        dropout = self.dropout if self.training else 0.0
        if not need_weights and not dropout:
            # the weights are not wanted: the fused attention (F.scaled_dot_product_attention)
            attn = None
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
            if mask is not None:
                scores = scores + mask
            attn = scores.softmax(-1)
            if dropout:
                attn = F.dropout(attn, dropout, True)
            out = attn @ v
        out = out.permute(2, 0, 1, 3).reshape(L, B, E)
        out = self.out_proj(out)
        if not batched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        weights = attn.mean(1) if average_attn_weights else attn
        if not batched:
            weights = weights.squeeze(0)
        return out, weights


def _activation(activation):
    if callable(activation):
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


class TransformerEncoderLayer(Module):
    """Self-attention then a position-wise MLP (d_model -> dim_feedforward -> d_model), each with a
    residual connection and LayerNorm: after the sum (``norm_first=False``) or inside the branch."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        kw = {} if dtype is None else {"dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerEncoder(Module):
    """``num_layers`` copies of an encoder layer (keys ``layers.{i}.*``), then an optional norm."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return self.norm(x) if self.norm is not None else x


def generate_square_subsequent_mask(sz, dtype=None):
    """The causal mask: 0 on and below the diagonal, -inf above (position i sees j <= i)."""
    from ...creation import full
    from ...ops.shape import triu
    return triu(full((sz, sz), float("-inf"), **({} if dtype is None else {"dtype": dtype})), diagonal=1)

