# Set-up and the two entry points: `make demo` (a real trace) and `make test` (all tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench conformance clean bytecode

$(BIN)/dtrace: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]' --config-settings editable_mode=compat
	touch $@

# Byte-compile the package: with PYTHONDONTWRITEBYTECODE set (as here) Python would otherwise
# compile every module again on each start of dtrace, doubling its start-up time.
bytecode: $(BIN)/dtrace
	$(BIN)/python -m compileall -q pydtrace

# Count system calls per process for 5 seconds and print the aggregation.
demo: bytecode
	$(BIN)/dtrace -n 'syscall:::entry { @[execname] = count(); } tick-5s { exit(0); }'

test: bytecode
	$(BIN)/python -m pytest -q tests

bench: bytecode
	$(BIN)/python bench/startup.py

conformance: bytecode
	$(PYTHON) ../shared/tools/dtjudge.py --suite ../shared/conformance/test/unittest \
	    --dtrace "$(CURDIR)/$(BIN)/dtrace" --kind lang --jobs 2

clean:
	rm -rf $(VENV) build *.egg-info
