"""Parameter initialisers (torch.nn.init) (being written)."""
