"""Neural-network building blocks (torch.nn). For now the functional half: ``dm.nn.functional``."""
from . import functional  # noqa: F401
