VENV ?= .venv
PY := $(VENV)/bin/python
STAMP_BASE := $(VENV)/.installed-base
STAMP_TEST := $(VENV)/.installed-test
STAMP_BENCH := $(VENV)/.installed-bench
STAMP_TOUR := $(VENV)/.installed-tour

.PHONY: demo test bench clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP_BASE): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(STAMP_BASE)

$(STAMP_TOUR): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[tour]'
	touch $@ $(STAMP_BASE)

demo: $(STAMP_TOUR)
	$(PY) -m dlmath tour

test: $(STAMP_TEST)
	DLMATH_REQUIRE_ORACLE=1 $(PY) -m pytest src tests

$(STAMP_BENCH): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@ $(STAMP_TEST) $(STAMP_BASE)

bench: $(STAMP_BENCH)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis
