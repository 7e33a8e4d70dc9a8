# The PIM images pipeline. `make demo` runs it end to end; `make test` runs the tests.
# Both create the virtualenv (.venv) and install pinned dependencies when needed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo test test-quick lint sandbox airflow bench soak lock clean

install: $(INSTALLED)

# The product (pim-images) and, beside it, the development-only sandbox (pim-images-sandbox, in sandbox/).
$(INSTALLED): requirements.txt requirements-dev.txt constraints.txt pyproject.toml sandbox/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt -c constraints.txt
	$(BIN)/pip install --quiet --no-deps -e . -e sandbox
	touch $@

## Run the import DAG once, end to end, against the sandbox Akeneo and sandbox SFTP.
demo: install
	$(BIN)/python scripts/demo.py

## Tests on a worker per CPU (pytest-xdist): a module's tests on one worker; the system tests first,
## one after another on one worker (tests/conftest.py). PYTEST_WORKERS=0 runs them in this process.
PYTEST := $(BIN)/pytest -n $${PYTEST_WORKERS:-$$(nproc)} --dist loadscope --no-loadscope-reorder

## Lint, then the whole test suite (system tests included: a scheduler, a cluster, a browser).
test: install lint
	$(PYTEST)

## Lint, then every test but the system ones (a few minutes less).
test-quick: install lint
	$(PYTEST) -m "not system"

lint: install
	$(BIN)/ruff check .

## Sandbox Akeneo + SFTP until Ctrl-C; prints the `export` lines that point Airflow at them.
## SANDBOX_ARGS passes options, e.g. "--products 1000 --models 20 --defect localizable_collection".
SANDBOX_DB := $(CURDIR)/.demo/sandbox-airflow/airflow.db

sandbox: install
	mkdir -p $(dir $(SANDBOX_DB))
	AIRFLOW_HOME=$(dir $(SANDBOX_DB)) AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$(SANDBOX_DB) \
		$(BIN)/airflow db migrate > $(dir $(SANDBOX_DB))migrate.log 2>&1
	$(BIN)/python -m pim_sandbox --airflow-db $(SANDBOX_DB) $(SANDBOX_ARGS)

## Sandbox + `airflow standalone` (SQLite, LocalExecutor) with the DAG and connections ready.
airflow: install
	$(BIN)/python scripts/airflow_ui.py

## Each core stage against the sandbox in its own process, at Akeneo's limits and a set latency:
## time, CPU, items/s, ratio to the API ceiling, peak RSS, requests, 429s, the issue's targets;
## appended to tests/benchmarks/results.jsonl. One run per size of BENCH_PRODUCTS (default 10000
## then 100000); sizes from 100000 on download media at BENCH_LARGE_DOWNLOAD_LATENCY_MS (default
## 2) without the 100 requests/s rate limit (440,000 files at 50 ms, or at 100/s, would take over
## an hour), said in the output.
## First the media check on product photos (bench_identify.py); last, a catalog of
## BENCH_PHOTO_PRODUCTS (default 1000; 0: none) whose pictures are 2,000 px product photos, as a
## real PIM's, where the sandbox's usual pictures are small drawings: the media stage decoding them.
## (BENCH_PRODUCTS="10000 100000" BENCH_MODELS=20 BENCH_LATENCY_MS=50 BENCH_LARGE_DOWNLOAD_LATENCY_MS=2
##  BENCH_PHOTO_PRODUCTS=1000)
bench: install
	$(BIN)/python tests/benchmarks/bench_identify.py
	for products in $${BENCH_PRODUCTS:-10000 100000}; do \
		large=""; [ $$products -ge 100000 ] && large="--download-latency-ms $${BENCH_LARGE_DOWNLOAD_LATENCY_MS:-2} --rate-limit 0"; \
		$(BIN)/python tests/benchmarks/bench_pipeline.py --products $$products --many-assets \
			--models $${BENCH_MODELS:-20} --latency-ms $${BENCH_LATENCY_MS:-50} $$large || exit 1; \
	done
	photos=$${BENCH_PHOTO_PRODUCTS:-1000}; [ $$photos -eq 0 ] || $(BIN)/python tests/benchmarks/bench_pipeline.py \
		--products $$photos --many-assets --models 2 --latency-ms $${BENCH_LATENCY_MS:-50} --photo-side 2000

## The same catalog imported with faults on (Akeneo 429/5xx, timeouts, cut bodies, expired tokens;
## SFTP cuts, refused and slow renames) and off: requests, faults, retries, task retries, files,
## partial or temporary files seen on the drops and products differing (goals: 0); appended to
## tests/benchmarks/soak_results.jsonl (SOAK_PRODUCTS=150 SOAK_RATE=0.03 SOAK_SFTP_RATE=0.1).
soak: install
	$(BIN)/python tests/benchmarks/soak.py --products $${SOAK_PRODUCTS:-150} --models $${SOAK_MODELS:-6} \
		--rate $${SOAK_RATE:-0.03} --sftp-rate $${SOAK_SFTP_RATE:-0.1}

## Re-resolve the lock (constraints.txt) after changing requirements*.txt.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -r requirements.txt -r requirements-dev.txt
	.lock-venv/bin/pip freeze --exclude-editable > constraints.txt && rm -rf .lock-venv

clean:
	rm -rf .demo .pytest_cache .ruff_cache
