# Vägvisaren. `make run` sets everything up and starts the bot; `make test` runs the suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 runs on Python 3.10 and 3.11; prefer them when several are installed.
PYTHON ?= $(shell command -v python3.11 || command -v python3.10 || command -v python3)
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d%d" % sys.version_info[:2])')
# One lock file per supported Python version: some pinned packages differ between them.
LOCK := requirements/lock-py$(PYVER).txt
VENV := .venv
BIN := $(VENV)/bin
SPACY_MODEL := models/spacy/sv_vagvisaren
MODEL := models/vagvisaren.tar.gz
# Rasa's training data is data/nlu and data/stories; the rest of data/ is the application's
# (texts of the channels, widget and notifications, risk patterns and labelled messages).
RASA_DATA := data/nlu data/stories
TRAINING_DATA := config.yml domain.yml $(shell find $(RASA_DATA) -name '*.yml' 2>/dev/null)
RISK_MODEL := models/risk/risk_model.joblib
RISK_TRAINING := $(wildcard data/risk/train*.yml)

# Rasa sends usage data to its own servers unless this is off: off for every command here.
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install spacy env train run migrate staff admin telegram-webhook purge cluster chromium haproxy test test-fast validate transcripts screenshots lint format eval-nlu eval-risk eval-privacy bench bench-cluster bench-redaction fuzz lock clean

# Every target with a "## " comment is listed by `make help` (a test keeps it that way).
help: ## this list
	@echo "Vägvisaren. Start with 'make run' (set up and start the bot) or 'make test'."
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z-]*:[^=]*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --- set-up -------------------------------------------------------------------------
# Rasa and rasa-sdk declare Requires-Python <3.11, so they are installed without their
# dependency metadata; their dependencies come pinned from $(LOCK).
$(VENV)/.installed: requirements/rasa.txt $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps --ignore-requires-python -r requirements/rasa.txt
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed ## the virtual environment with the pinned dependencies

$(SPACY_MODEL)/meta.json: bot/spacy_pipeline.py $(VENV)/.installed
	$(BIN)/python -m bot.spacy_pipeline $(SPACY_MODEL)

spacy: $(SPACY_MODEL)/meta.json ## build the Swedish spaCy pipeline (no download)

# Written on first run; settings added to .env.example later are appended, values kept.
.env: .env.example | $(VENV)/.installed
	$(BIN)/python -m bot.envfile
	touch $@

env: .env ## write .env from .env.example with fresh secrets (keeps your values)

# Retrained only when the training data, domain, config or the custom NLU components
# (bot/nlu/, pickled into the model) changed.
$(MODEL): $(TRAINING_DATA) $(wildcard bot/nlu/*.py) $(SPACY_MODEL)/meta.json
	$(BIN)/rasa train --data $(RASA_DATA) --fixed-model-name vagvisaren --out models

# The trained risk model (bot/risk/classifier.py), from the labelled messages in data/risk.
$(RISK_MODEL): $(RISK_TRAINING) bot/risk/classifier.py | $(VENV)/.installed
	$(BIN)/python -m bot.risk.classifier --force

# Set-up steps run two at a time (--output-sync keeps each one's output together).
PARALLEL := $(MAKE) --no-print-directory --jobs=2 --output-sync=target

train: $(MODEL) $(RISK_MODEL) ## train the Rasa model and the risk model (only what changed)

# --- running ------------------------------------------------------------------------
run: $(MODEL) $(RISK_MODEL) .env ## set up everything and start the bot (Ctrl-C stops it)
	$(BIN)/python -m bot.launcher

migrate: .env ## create or upgrade the escalation store's tables
	$(BIN)/python -m bot.store.migrate

# The staff dashboard on its own (make run starts it with the bot).
staff: .env ## the staff dashboard on its own (make run starts it too)
	$(BIN)/python -m bot.staff

# The first admin account: make admin NAME=anna (asks for a password, prints the TOTP key).
admin: .env ## create the first staff admin: make admin NAME=username
	@test -n "$(NAME)" || { echo "usage: make admin NAME=username"; exit 2; }
	$(BIN)/python -m bot.staff create-admin "$(NAME)"

# Registers TELEGRAM_WEBHOOK_URL and the secret token with Telegram (after setting them in .env).
telegram-webhook: .env ## register TELEGRAM_WEBHOOK_URL with Telegram
	$(BIN)/python -m bot.channels.telegram set-webhook

purge: .env ## delete what is past its retention period (the retention job)
	$(BIN)/python -m bot.retention

# Two Rasa servers, two action servers, the dashboard and HAProxy on this machine, against
# the local PostgreSQL and Redis (docs/deployment.md, "Try it on one machine").
cluster: $(MODEL) $(RISK_MODEL) .env $(HAPROXY) ## two Rasa + two action servers, dashboard, HAProxy on loopback
	$(BIN)/python -m tools.cluster

# --- checks -------------------------------------------------------------------------
# The browser tests drive Debian's Chromium through Playwright, which never downloads a
# browser of its own. Installed here when missing (as root; otherwise the command to run).
CHROMIUM := /usr/bin/chromium

chromium: $(CHROMIUM) ## install Debian's Chromium for the browser tests

# HAProxy, the load balancer of a deployment of several servers (deployment/haproxy/), from
# Debian's packages; `make cluster` and the cluster test run it on loopback ports.
HAPROXY := /usr/sbin/haproxy

# Both in one apt-get (two at once would fight over apt's lock when the set-up runs in
# parallel); a package already installed is left as it is.
$(CHROMIUM) $(HAPROXY) &:
	@if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium haproxy; \
	else \
	  echo "Chromium and HAProxy are needed for the browser and cluster tests:"; \
	  echo "  sudo apt-get install chromium haproxy"; exit 1; \
	fi

haproxy: $(HAPROXY) ## install Debian's HAProxy (the load balancer of several servers)

# axe-core (the accessibility check of the web widget), from the npm registry, exactly as
# tests/browser/package-lock.json pins it. Needs Node.js and npm.
AXE := tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the browser tests: sudo apt-get install npm"; exit 1; }
	npm ci --prefix tests/browser --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Two set-up steps at a time: the Rasa training (both cores for a few minutes) starts as
# soon as the environment and spaCy are there, beside the downloads (apt, npm), which wait
# on the network more than they compute. The suite runs in TEST_WORKERS processes
# (pytest-xdist), a test module's tests in one of them, so a module's servers start once;
# each process starts its own shared servers.
TEST_WORKERS ?= 2
test: ## set up everything and run the whole suite, as CI does
	@$(PARALLEL) $(MODEL) $(CHROMIUM) $(HAPROXY) $(AXE) $(RISK_MODEL) .env
	$(BIN)/ruff check bot actions tools tests
	$(BIN)/pytest --numprocesses $(TEST_WORKERS) --dist loadscope

# The unit tests and ruff: no database, no server, no browser, no Rasa model.
test-fast: $(SPACY_MODEL)/meta.json $(RISK_MODEL) .env ## unit tests and ruff only (about a minute)
	$(BIN)/ruff check bot actions tools tests
	$(BIN)/ruff format --check bot actions tools tests
	$(BIN)/pytest tests/unit -q

# Rasa's own check of the training data and domain (intents, stories, rules, responses).
validate: $(VENV)/.installed ## rasa data validate on data/nlu, data/stories and domain.yml
	$(BIN)/rasa data validate --data $(RASA_DATA) --fail-on-warnings

# The conversations of tests/data/dialogues.yml through the real bot; five of them, and
# the messages per turn over all, in docs/transcripts.md.
transcripts: $(MODEL) $(RISK_MODEL) .env ## five test conversations as the relative reads them (docs/transcripts.md)
	$(BIN)/python -m tools.transcripts

# The web chat at desktop and phone size, for docs/ and the README.
screenshots: $(MODEL) $(RISK_MODEL) .env $(CHROMIUM) ## the web chat (desktop, phone) and the staff dashboard (queue, live chat, statistics), for docs/
	$(BIN)/python -m tools.screenshots docs
	$(BIN)/python -m tools.staff_screenshots docs

lint: $(VENV)/.installed ## ruff check and format check
	$(BIN)/ruff check bot actions tools tests
	$(BIN)/ruff format --check bot actions tools tests

format: $(VENV)/.installed ## ruff format
	$(BIN)/ruff format bot actions tools tests

eval-nlu: $(SPACY_MODEL)/meta.json ## NLU cross-validation report (macro F1)
	$(BIN)/python -m tools.eval_nlu

eval-risk: $(SPACY_MODEL)/meta.json ## risk screening per category, who is at risk and level (docs/risk.md)
	$(BIN)/python -m tools.eval_risk --cross-validate

eval-privacy: $(VENV)/.installed ## redaction: leaks per identifier kind, false positives
	$(BIN)/python -m tools.eval_privacy

bench: $(MODEL) $(RISK_MODEL) .env ## load benchmark against a minimal Rasa bot
	$(BIN)/python -m tools.bench

# N relatives on every channel (REST, the web chat's websocket and long-polling, Telegram, SMS)
# through HAProxy to two Rasa and two action servers, one of each killed mid-run; nothing
# lost or doubled, a handler's messages arrive; one server against two at saturation.
# About 15 minutes; `.venv/bin/python -m tools.bench_cluster --relatives 20 --minutes 2`.
bench-cluster: $(MODEL) $(RISK_MODEL) .env $(HAPROXY) ## 100 relatives, 10 min, on the cluster with a server killed mid-run
	$(BIN)/python -m tools.bench_cluster

# Redaction on hostile input (long runs of one shape): linear time, no multi-second stall.
bench-redaction: .env ## redaction time on hostile input (linear, no long stall)
	$(BIN)/python -m tools.bench_redaction

# Generated hostile input against every endpoint (tools/fuzz.py): no answer of 500 or more, no
# crashed server, a normal relative answered afterwards. SEED and COUNT replay or shorten it.
SEED ?= 17
COUNT ?= 10000
fuzz: $(MODEL) $(RISK_MODEL) .env ## 10 000 generated hostile inputs to every endpoint: no 5xx, no crash
	$(BIN)/python -m tools.fuzz --seed $(SEED) --count $(COUNT)

$(LOCK):
	@echo "No lock file for Python $(PYVER): Rasa 3.6 runs on Python 3.10 and 3.11." >&2
	@echo "Install one of them and run e.g. 'make run PYTHON=python3.11'." >&2
	@exit 1

# Re-resolve $(LOCK) from requirements/deps.in (maintainers only; needs the network).
lock: ## re-resolve the lock file from requirements/deps.in (maintainers; needs the network)
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --no-deps --ignore-requires-python -r requirements/rasa.txt
	.venv-lock/bin/pip install --quiet -r requirements/deps.in
	{ echo "# Full resolved dependency set for Python $(PYVER), generated by 'make lock' from requirements/deps.in."; \
	  echo "# rasa and rasa-sdk themselves are in requirements/rasa.txt."; \
	  .venv-lock/bin/pip freeze --exclude rasa --exclude rasa-sdk; } > $(LOCK)
	rm -rf .venv-lock

clean: ## remove the environment, models, results and local databases
	rm -rf $(VENV) models results var/*.db tests/browser/node_modules
