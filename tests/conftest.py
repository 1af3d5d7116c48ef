"""Shared pytest configuration for the dlmath test suite.

* ``torch`` fixture: PyTorch is the oracle. Without it, oracle tests are
  skipped, unless ``DLMATH_REQUIRE_ORACLE=1`` (set by ``make test`` and CI),
  in which case they fail with a message saying how to install it.
* Hypothesis profile ``dlmath``: no deadline, derandomized, 25 examples, so
  the suite is reproducible and stays fast on two cores. Choose another with
  ``HYPOTHESIS_PROFILE=thorough`` (200 examples, still derandomized).
* Self-check of the suite: ``DLMATH_TESTS_AGAINST_TORCH=1`` runs every test
  with ``torch`` in place of ``dlmath`` (see ``helpers.dm``). A test that
  fails then is wrong about PyTorch, not dlmath; tests of documented dlmath
  deviations are marked ``dlmath_only`` and skipped in that mode.
"""

import os
import sys

import pytest
from hypothesis import settings

# pytest runs with --import-mode=importlib, which does not put tests/ on
# sys.path; the test modules import ``helpers`` and ``op_table`` from here.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

settings.register_profile("dlmath", deadline=None, derandomize=True, max_examples=25)
settings.register_profile("thorough", deadline=None, derandomize=True, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dlmath"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "dlmath_only: documented dlmath behaviour that differs from PyTorch")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("DLMATH_TESTS_AGAINST_TORCH") != "1":
        return
    skip = pytest.mark.skip(reason="dlmath-specific behaviour; suite is running against torch")
    for item in items:
        if "dlmath_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def torch():
    """The PyTorch module (the oracle), or skip/fail as described above."""
    from helpers import load_torch
    return load_torch()
