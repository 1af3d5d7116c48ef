"""Neural-network building blocks (torch.nn): modules and layers, their functional forms
(``dm.nn.functional``), initialisers (``dm.nn.init``) and utilities (``dm.nn.utils``).

Everything here is written on dlmath's public surface (Tensors, their ops and
``dm.autograd.Function``), as a user's own layers would be.
"""
from . import functional  # noqa: F401
from . import init  # noqa: F401
from . import utils  # noqa: F401
from .parameter import *  # noqa: F401,F403  (Parameter)
from .modules import *  # noqa: F401,F403  (Module, the containers, the layers, the loss modules)
