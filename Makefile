# Two commands set everything up on a fresh machine with Python 3.11+:
#   make report   create .venv, install, extract the bundled corpus, write reports/
#   make test     lint, format check and the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: report test test-fast lint chromium clean model

# The coded articles the shipped model learns from (never copied into the repo).
SHARED := ../shared
ANNOTATION := $(SHARED)/annotation

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# notebooks are committed without outputs: git strips them on add (nbstripout)
	-git rev-parse --git-dir >/dev/null 2>&1 && $(BIN)/nbstripout --install --attributes .gitattributes
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/analysis report --corpus data/corpus --out reports

# Rebuild the shipped learned coder from the coded articles; prints the
# grouped cross-validation (whole sites left out) it was chosen on.
model: $(STAMP)
	$(BIN)/analysis train $(ANNOTATION)/seeds.gold.jsonl $(ANNOTATION)/dev/gold.jsonl \
	  --corpus $(SHARED)/corpus/seeds $(ANNOTATION)/dev/corpus \
	  --sites $(ANNOTATION)/dev/SOURCES.tsv --out src/analysis/models/coder

# The browser tests drive Debian's Chromium; as root, install it if missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium is not installed: the browser tests will be skipped (apt-get install chromium)"

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# The inner loop: unit tests and small scenarios, no report builds, browser
# or cross-validation (tests marked slow, see tests/conftest.py).
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf reports test-output .pytest_cache
