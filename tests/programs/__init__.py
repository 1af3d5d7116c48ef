"""The differential fuzzer behind ``tests/test_programs.py``: random short
programs run on dlmath and on torch, and compared.

* ``known``: the known discrepancies (``KNOWN``) and how they are steered
  around (``avoid``) or recognised afterwards (``known_discrepancy``);
* ``builder``: the choosers (Hypothesis or ``random``) and ``Builder``, which
  draws a program step by step, running each step on torch as it goes;
* ``generate``: the op families and ``generate()``; the in-place writes, the
  fuzzer's main target, are in ``inplace``;
* ``run``: running a program on both libraries and comparing
  (``discrepancy``), shrinking a failure (``minimize``), and hunting without
  Hypothesis (``python tests/programs/run.py N [seed]``).
"""

RTOL = ATOL = 1e-9  # tolerance of every comparison of values
