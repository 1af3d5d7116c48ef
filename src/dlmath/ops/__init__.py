"""The primitives, grouped by what they do: elementwise, reductions, shapes, indexing, products."""
