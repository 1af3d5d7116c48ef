"""Optimisers and learning-rate schedules (torch.optim).

``dm.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)`` and the others have torch's names,
defaults, update rules and state-dict layout; each step updates the parameters in place under
``no_grad``.
"""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .rmsprop import RMSprop
from .adagrad import Adagrad
from . import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
