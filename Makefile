# One task runner; `make` (check) runs exactly what CI runs.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: check test lint demo web screenshots bench clean

check: $(VENV)
	$(PY) -m pytest
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy bulk_enroll

test: $(VENV)
	$(PY) -m pytest

lint: $(VENV)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy bulk_enroll

demo: $(VENV)
	$(VENV)/bin/bulk-enroll run --sandbox sample_data/new_hires_onboarding.xlsx

web: $(VENV)
	$(VENV)/bin/bulk-enroll web --sandbox

screenshots: $(VENV)
	BULK_ENROLL_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/web/test_browser.py -k whole_flow

bench: $(VENV)
	$(PY) -m pytest tests/bench -s

$(VENV): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -e '.[web,test]'
	touch $(VENV)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
