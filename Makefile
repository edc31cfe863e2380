# Every target creates or refreshes .venv itself, so a fresh clone needs only Python 3.11+ and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFORMANCE ?= ../shared/conformance

.PHONY: run test lint conformance bench bench-all tables clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/mathgrader serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/mathgrader key lint examples/*.toml
	$(BIN)/python -m pytest src tests README.md

conformance: $(STAMP)
	$(BIN)/python scripts/conformance.py $(CONFORMANCE)

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python benchmarks/grading.py

bench-all: bench
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/http_load.py

# After editing grammar/mathgrader.lark: export its LALR tables for the parser, which then starts
# without importing Lark (a test fails while the file is out of date).
tables: $(STAMP)
	$(BIN)/python -c 'from mathgrader.language.parser import write_tables; print(write_tables())'

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache

# Long property runs and fuzzing, apart from `make test`: the metamorphic, random-text and printer
# property tests with FUZZ_FACTOR times their examples, the false-positive/negative count of
# scripts/fuzz.py (benchmarks/results/fuzz.json), and a coverage-guided run of the parser with
# atheris for FUZZ_SECONDS, when atheris can be installed on this machine. Every step runs even
# when an earlier one finds a failure; the target fails if any did.
FUZZ_FACTOR ?= 20
FUZZ_EXAMPLES ?= 2000
FUZZ_SECONDS ?= 120
.PHONY: fuzz
fuzz: $(STAMP)
	@status=0; \
	echo "fuzz: property tests, $(FUZZ_FACTOR)x their examples"; \
	MATHGRADER_FUZZ=1 MATHGRADER_FUZZ_FACTOR=$(FUZZ_FACTOR) $(BIN)/python -m pytest \
		-p no:cacheprovider --hypothesis-show-statistics tests/checker/test_metamorphic.py \
		tests/language/test_fuzz_text.py tests/test_learner_printer.py || status=1; \
	echo "fuzz: scripts/fuzz.py --examples $(FUZZ_EXAMPLES) --seed 0"; \
	$(BIN)/python scripts/fuzz.py --examples $(FUZZ_EXAMPLES) --seed 0 || status=1; \
	if $(BIN)/python -c "import atheris" 2>/dev/null || $(BIN)/python -m pip install -q atheris; then \
		echo "fuzz: atheris on the parser for $(FUZZ_SECONDS) s"; \
		mkdir -p var/fuzz/corpus; \
		$(BIN)/python fuzz/parser_fuzz.py -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-dict=fuzz/learner.dict -artifact_prefix=var/fuzz/ var/fuzz/corpus fuzz/corpus \
			|| status=1; \
	else \
		echo "fuzz: SKIPPED the coverage-guided parser run: atheris could not be installed" \
			"(no wheel for this Python and platform, and no clang to build one)"; \
	fi; \
	exit $$status

# Soak test of the HTTP service (benchmarks/soak.py): `mathgrader serve --http-workers 2` at 60%
# of its measured capacity for LOADTEST_MINUTES; fails on any non-200 answer, any dropped request
# or memory growth over 64 MiB. Writes benchmarks/results/soak.json and soak.png.
LOADTEST_MINUTES ?= 5
.PHONY: loadtest
loadtest: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python benchmarks/soak.py --minutes $(LOADTEST_MINUTES)
