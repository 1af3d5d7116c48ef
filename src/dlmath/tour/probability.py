"""Chapter 10.3 of the notes: probability and statistics, where probability explains why networks train.

The variance experiments (initialisation, BatchNorm, attention scaling) live in
:mod:`.probability_variance`, imported first so that they open the chapter, in the
notes' order; the distributions behind the output layers, maximum likelihood,
entropy and KL, and temperature follow here.
"""
from __future__ import annotations

import math

import dlmath as dm
import dlmath.nn.functional as F

from . import probability_variance  # noqa: F401  (registers the chapter's first experiments)
from .registry import at_most, between, close_to, experiment, is_true, satisfies
