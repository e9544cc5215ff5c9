# Every target installs what it needs (uv + the locked virtualenv) and is safe to run again.
# Environment: DCV_HOME (data dir, default .dcv/), DCV_DATABASE_URL (external PostgreSQL; unset = embedded),
# DCV_ATTACK_SOURCE (ATT&CK bundle path/URL), DCV_SHARED (third-party data, default ../shared).

SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
DCV := $(BIN)/dcv
DBT_DIR := dbt_project
DBT := $(BIN)/dbt
DBT_FLAGS := --project-dir $(DBT_DIR) --profiles-dir $(DBT_DIR)
MANIFEST := $(DBT_DIR)/target/manifest.json
DBT_SOURCES := $(shell find $(DBT_DIR)/models $(DBT_DIR)/seeds $(DBT_DIR)/snapshots $(DBT_DIR)/macros $(DBT_DIR)/tests -type f 2>/dev/null) $(DBT_DIR)/dbt_project.yml
export DCV_SHARED ?= $(abspath ../shared)

.PHONY: install run summary demo test lint unit ui db-start db-stop db-status db-shell db-url eval bench bench-partitioning docs \
	schema clean backup restore

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check 'uv==0.13.9'

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced $(MANIFEST) ## the locked virtualenv and the dbt manifest

$(MANIFEST): $(VENV)/.synced $(DBT_SOURCES)
	$(DBT) parse --quiet $(DBT_FLAGS)
	touch $@

demo: install $(MANIFEST) ## sample organization -> every asset -> coverage summary, on the embedded default
	$(DCV) demo

run: install $(MANIFEST) ## DCV_EXPORT_DIR / live AWS for DAY= (default today) or FROM= TO= -> every asset -> summary
	$(DCV) run $(if $(DAY),--day $(DAY)) $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO))

summary: install ## the coverage summary of a loaded day (DAY=, default the latest)
	$(DCV) summary $(if $(DAY),--day $(DAY))

test: install $(MANIFEST) lint ## what CI runs
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: install $(MANIFEST)
	$(BIN)/ruff check dagster_project tests schema
	$(DCV) exec -- $(BIN)/sqlfluff lint --processes 2 $(DBT_DIR)/models

ui: install $(MANIFEST) ## Dagster UI on http://127.0.0.1:3000
	env --default-signal=INT $(DCV) exec -- $(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

db-start: install
	$(DCV) db start
db-stop: install
	$(DCV) db stop
db-status: install
	$(DCV) db status
db-url: install
	@$(DCV) db url
db-shell: install ## psql on the warehouse in use (reads SQL from stdin when piped)
	@$(DCV) db shell

backup: install ## warehouse + Dagster instance -> $(DCV_HOME)/backups/<UTC time>/ (or OUT=dir), with a manifest
	$(DCV) backup $(if $(OUT),--out $(OUT))

restore: install ## FROM=<backup folder> into the warehouse in use (an empty DCV_HOME; FORCE=1 replaces one)
	@test -n "$(FROM)" || { echo "make restore: give the backup folder, e.g. make restore FROM=.dcv/backups/20261207T101500Z" >&2; exit 2; }
	$(DCV) restore $(FROM) $(if $(FORCE),--force)

schema: install $(MANIFEST) ## regenerate schema/database-schema-v1.sql from a freshly built warehouse
	$(DCV) schema

eval: install $(MANIFEST) ## mapping accuracy: Sigma and Elastic corpora (tags hidden), and per CloudTrail event against several references
	$(DCV) eval

bench: install $(MANIFEST) ## scale benchmark (BENCH_ACCOUNTS x BENCH_DETECTIONS over BENCH_DAYS, default 1000 x 1000 x 2)
	$(DCV) bench --accounts $(or $(BENCH_ACCOUNTS),1000) --detections $(or $(BENCH_DETECTIONS),1000) \
		--days $(or $(BENCH_DAYS),2)

bench-partitioning: install ## coverage_history as one table vs monthly partitions, a year of history (docs/benchmark.md)
	$(DCV) exec -- $(BIN)/python -m dagster_project.lib.bench.partitioning "" \
		$(or $(BENCH_ACCOUNTS),20) $(or $(BENCH_TECHNIQUES),200) 365

docs: install $(MANIFEST) ## dbt docs on http://127.0.0.1:8080
	$(DCV) exec -- $(DBT) docs generate $(DBT_FLAGS)
	$(DCV) exec -- $(DBT) docs serve $(DBT_FLAGS) --host 127.0.0.1 --port 8080

clean:
	rm -rf $(DBT_DIR)/target $(DBT_DIR)/logs .pytest_cache .ruff_cache
