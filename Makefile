# shelly-emu: every target sets itself up (venv in .venv, Python 3.12, project installed editable).
VENV := .venv
BIN := $(VENV)/bin
# pyenv keeps 3.12 out of PATH on these machines (default 3.11); elsewhere any python3.12 on PATH.
PYTHON312 := $(shell p=$$(pyenv prefix 3.12.1 2>/dev/null || pyenv prefix 3.12 2>/dev/null); \
	if [ -n "$$p" ] && [ -x "$$p/bin/python3.12" ]; then echo "$$p/bin/python3.12"; \
	else command -v python3.12; fi)

.PHONY: run test lint format bench soak screenshots clean

# The embedded MQTT broker, without its websockets==15.0.1 pin (see pyproject.toml).
AMQTT := amqtt==0.12.1

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON312)" || { echo "python3.12 not found (tried pyenv 3.12.1 and PATH)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON312) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps '$(AMQTT)'
	@touch $@

run: $(BIN)/.installed
	$(BIN)/shelly-emu demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

# The pages' screenshots in docs/ (device page, dashboard, cloud page), taken by the browser tests.
screenshots: $(BIN)/.installed
	SHELLY_EMU_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/web

lint: $(BIN)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/.installed
	$(BIN)/python -m bench

# N devices for M minutes under bounded load; e.g. make soak SOAK="--devices 1000 --minutes 10"
soak: $(BIN)/.installed
	$(BIN)/python -m bench.soak $(SOAK)

clean:
	rm -rf $(VENV) build *.egg-info
