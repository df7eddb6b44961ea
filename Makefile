# The two commands a new user needs: `make synth` and `make test`. Both install what they
# need into the repository (.venv from pinned requirements, node_modules from package-lock)
# and contact no host but the package registries.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := synth

VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export AWS_EC2_METADATA_DISABLED := true
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
CDK := cdk --no-notices --no-version-reporting
OUT ?= cdk.out
# STAGE_FILE=path.yaml[,other.yaml] synthesizes those stage files instead of config/*.yaml
STAGE_CONTEXT := $(if $(STAGE_FILE),-c stage_file=$(STAGE_FILE))

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
LAYER_DIR := build/layers/kubernetes
LAYER_ZIP := build/layers/kubernetes.zip

.PHONY: templates efa-test install synth test test-full lint typecheck unit cli-synth hooks snapshots mutants diff cost deploy destroy destroy-guard bench bench-reservations bench-jobs soak-reservations imports clean

install: $(PY_STAMP) $(NODE_STAMP) $(LAYER_ZIP)

$(PY_STAMP): requirements.txt requirements-dev.txt jobs/platform_jobs/requirements.txt job_api/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m tools.link_node $(VENV)/bin
	# cdk.json runs the app as `python3 -O` (jsii's per-call type checks off; the tests keep
	# them): write the -O bytecode of everything the app imports once, here, even where
	# PYTHONDONTWRITEBYTECODE is set, or every synth compiles aws-cdk-lib's modules again.
	env -u PYTHONDONTWRITEBYTECODE $(PY) -O -c 'import app'
	touch $@

$(NODE_STAMP): package.json package-lock.json $(PY_STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The reservation Lambdas' Kubernetes client layer, for Lambda's python3.14 on x86_64: wheels
# only, no bytecode, zipped deterministically, so the asset is the same on every machine (and
# synth hashes one 10 MB file instead of 3,000).
$(LAYER_ZIP): lambda/layers/kubernetes/requirements.txt $(PY_STAMP)
	rm -rf $(LAYER_DIR)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
	  --target $(LAYER_DIR)/python --platform manylinux2014_x86_64 --python-version 3.14 \
	  --implementation cp --only-binary=:all: -r lambda/layers/kubernetes/requirements.txt
	$(PY) -m tools.deterministic_zip $(LAYER_DIR) $@
	rm -rf $(LAYER_DIR)

## synth: install, synthesize every stage into cdk.out/ and print a per-stage summary
synth: install
	$(call synth_into,$(OUT),$(STAGE_CONTEXT))
	$(PY) -m tools.synth_summary $(OUT)

# $(call synth_into,DIR,CDK ARGS): synthesize every stage into DIR.partial and rename it to DIR
# only when synth succeeds, so a failed synth leaves no assembly that looks complete (the
# summary, the cost report, the diff and the CI read DIR); the old DIR goes first either way.
synth_into = rm -rf $(1) $(1).partial && \
	{ $(CDK) synth '**' --quiet --output $(1).partial $(2) || { rm -rf $(1).partial; exit 1; }; } && \
	mv $(1).partial $(1)

## test: every test and gate (ruff, mypy, CLI synth with CloudFormation validation, then pytest with
##       snapshots/nag/cfn-lint/k8s schemas on that one assembly)
TEST_OUT := cdk.out.test
test: install lint typecheck cli-synth
	GPU_PLATFORM_ASSEMBLY=$(TEST_OUT) $(MAKE) --no-print-directory unit

lint:
	ruff check .
	ruff format --check .

# mypy over the repository (settings in pyproject.toml), incremental: .mypy_cache makes a
# warm run take seconds; a cold one (fresh clone) reads aws-cdk-lib's large stubs once.
typecheck:
	mypy

# pytest alone synthesizes the app in process; under `make test` it reads cli-synth's assembly
# (GPU_PLATFORM_ASSEMBLY), so the app is synthesized once per run, not once per worker.
unit:
	CDK_VALIDATION=false $(PY) -m pytest -n auto --dist loadfile -m "not full"

## test-full: what `make test` leaves to CI for its time: the tests marked `full` (the real
##            `make diff` path on a temporary repository, two synths of every shipped stage that
##            must be identical) and every stage-file mutant
test-full: install
	CDK_VALIDATION=false $(PY) -m pytest -m full
	$(MAKE) --no-print-directory mutants

# The one place CDK's built-in CloudFormation validation runs (it costs seconds a synth). No
# path or asset metadata, so the templates are exactly what the snapshots hold. Up to date
# (skipped) while no input changed since the last successful run: every file of the repository
# (tracked, or new and not ignored) except what only tests, benchmarks, docs and CI read, the
# installed .venv, node_modules and layer (their stamps), this Makefile, and the list of those
# files itself, so a deleted or added file counts as a change. A failed synth leaves no
# $(TEST_OUT), so the next run synthesizes again. CDK_VALIDATION is forced on: a cached assembly
# is always a validated one, whatever the caller's environment says.
SYNTH_INPUTS := $(sort $(wildcard $(shell git ls-files --cached --others --exclude-standard 2>/dev/null | \
  grep -v -E '^(tests|benchmarks|docs|\.github|\.ci)/|^README\.md$$')))
SYNTH_INPUT_LIST := build/synth-inputs.txt
$(shell mkdir -p build && { echo '$(SYNTH_INPUTS)' | cmp -s - $(SYNTH_INPUT_LIST) || echo '$(SYNTH_INPUTS)' > $(SYNTH_INPUT_LIST); })

cli-synth: $(TEST_OUT)/manifest.json

$(TEST_OUT)/manifest.json: export CDK_VALIDATION := true
$(TEST_OUT)/manifest.json: $(SYNTH_INPUTS) $(SYNTH_INPUT_LIST) $(PY_STAMP) $(NODE_STAMP) $(LAYER_ZIP) Makefile
	$(call synth_into,$(TEST_OUT),--no-path-metadata --no-asset-metadata)
	$(PY) -m tools.synth_summary $(TEST_OUT) || { rm -rf $(TEST_OUT); exit 1; }

## snapshots: rewrite the template and chart snapshots after a reviewed infrastructure change
snapshots: install
	CDK_VALIDATION=false $(PY) -m pytest tests/test_snapshots.py tests/test_k8s_manifests.py --snapshot-update

## mutants: every mutant of the shipped stage files (tools/stage_mutants.py), each refused with one
##          message or synthesized with cdk-nag and CloudFormation validation; prints the counts
mutants: install
	CDK_VALIDATION=true $(PY) -m tools.stage_mutants

## diff: offline, stack-by-stack diff of BASE (a git ref, default main) against the working tree;
##       fails when a stateful resource would be replaced or deleted (ALLOW_STATEFUL=1 to allow)
# The base worktree is installed by its own `make install`, reusing the head's .venv,
# node_modules and layer zip where the files they are built from are identical
# (tools/base_install.py). The report alone goes to stdout (the pull request's comment);
# the base's build and both synths report on stderr.
BASE ?= main
diff: export CDK_VALIDATION := false
diff: install
	@rm -rf .diff && git worktree prune
	@git worktree add --quiet --detach .diff/base $(BASE) >&2
	@$(PY) -m tools.base_install .diff/base
	@cd .diff/base && export PATH="$$PWD/.venv/bin:$$PWD/node_modules/.bin:$$PATH" && \
	  { $(call synth_into,$(CURDIR)/.diff/base.out,$(STAGE_CONTEXT)); } >&2
	@{ $(call synth_into,.diff/head.out,$(STAGE_CONTEXT)); } >&2
	@git worktree remove --force .diff/base
	@$(PY) -m tools.stack_diff .diff/base.out .diff/head.out $(if $(ALLOW_STATEFUL),--allow-stateful-changes)

## cost: itemised idle and peak $/h and $/month per stage, from the synthesized templates and
##       the dated price table (PRICES=your-table.yaml to use another)
PRICES ?= cost/on_demand_prices.yaml
cost: synth
	$(PY) -m tools.cost_report $(OUT) --prices $(PRICES)

## templates: the manifests teams apply (example TrainJob and RayCluster per GPU pool, the RDMA
##            test pod), written to cdk.out/templates/<stage>/, e.g. `make templates STAGE=dev`
## efa-test: write a pool's EFA/NCCL acceptance test and print the kubectl commands that run and
##           judge it, e.g. `make efa-test STAGE=dev POOL=h100-efa` (TYPE=p5.48xlarge to pick a size)
templates efa-test: install
	@$(PY) -m tools.training_templates $(if $(filter efa-test,$@),acceptance,templates) --stage $(STAGE) --out $(OUT) $(if $(POOL),--pool $(POOL)) \
	  $(if $(TYPE),--instance-type $(TYPE))

## deploy: cdk deploy one stage's stacks, e.g. `make deploy STAGE=dev` (needs AWS credentials);
##         asks before security-broadening changes unless APPROVAL=never (CI, after a reviewed diff)
APPROVAL ?= broadening
deploy: install
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=<stage>" >&2; exit 2; }
	$(CDK) deploy '$(STAGE)/*' --require-approval $(APPROVAL) $(STAGE_CONTEXT)

## destroy: cdk destroy the dev stage only; any other stage is refused
destroy: destroy-guard install
	$(CDK) destroy '$(STAGE)/*' --force $(STAGE_CONTEXT)

destroy-guard:
	@case "$(STAGE)" in dev) ;; *) echo "refusing to destroy '$(STAGE)': only dev may be destroyed" >&2; exit 2;; esac

## bench: synth of the full app vs a one-bucket app (ratio), where a synth spends its time, and a warm `make test`
bench: install
	$(PY) -m benchmarks.synth

## bench-reservations: processor passes over 5,000 queued requests (wall time, DynamoDB calls, writes
##                     and write units: first, quiet, and the heads starting),
##                     and 30 days of requests, seed 002's FIFO against ours, side by side
bench-reservations: install
	$(PY) -m benchmarks.reservations_pass
	$(PY) -m benchmarks.reservations_sim

## bench-jobs: 1,000 job submissions from 50 concurrent clients against a real PostgreSQL: throughput,
##             p50/p99, 0 lost / 0 duplicated after dispatch; again with one dispatcher killed midway
bench-jobs: install
	$(PY) -m benchmarks.jobs

## soak-reservations: the seeded fault soak of the reservation Lambdas at full size
## (10 seeds x 1,000 injected faults; figures in README.md, "Reservations"). Split a run with
## SEEDS=5 FIRST_SEED=5; JOBS=2 runs two seeds at once, each in its own process
SEEDS ?= 10
FIRST_SEED ?= 0
JOBS ?= 1
soak-reservations: install
	AWS_EC2_METADATA_DISABLED=true $(PY) -m tests.reservation_soak --seeds $(SEEDS) --first-seed $(FIRST_SEED) \
		--jobs $(JOBS) --faults 1000

## imports: regenerate the cdk8s CRD bindings in k8s_charts/imports from k8s_charts/crds
# The Dynamo CRD embeds whole pod specs: its binding is a 5 MB module that adds 0.7 s to every
# synth's imports, so its resources are written as schema-checked dicts instead (README). The
# four cert-manager/trust-manager objects (k8s_charts/linkerd_identity.py) are dicts too, and
# so are the Kueue objects (k8s_charts/kueue_queues.py) and the training, Ray and RDMA objects
# (k8s_charts/training.py, efa_test.py, ray_clusters.py, rdma.py) and Velero's (k8s_charts/velero.py).
NO_BINDINGS := nvidia.com_dynamographdeployments cert-manager.io_certificates \
  cert-manager.io_clusterissuers trust.cert-manager.io_bundles \
  kueue.x-k8s.io_clusterqueues kueue.x-k8s.io_localqueues kueue.x-k8s.io_resourceflavors \
  kueue.x-k8s.io_workloadpriorityclasses trainer.kubeflow.org_clustertrainingruntimes \
  trainer.kubeflow.org_trainingruntimes trainer.kubeflow.org_trainjobs ray.io_rayclusters \
  mellanox.com_nicclusterpolicies mellanox.com_hostdevicenetworks mellanox.com_macvlannetworks \
  nv-ipam.nvidia.com_ippools velero.io_backupstoragelocations velero.io_volumesnapshotlocations \
  velero.io_schedules
imports: install
	rm -rf k8s_charts/imports
	for crd in k8s_charts/crds/*.yaml; do \
	  base=$$(basename $$crd .yaml); \
	  case " $(NO_BINDINGS) " in *" $$base "*) continue;; esac; \
	  name=$$(echo $$base | tr '.-' '__'); \
	  cdk8s import --no-check-upgrade --language python --output k8s_charts/imports "$$name:=$$crd"; \
	done

## hooks: install pre-commit and the git hooks of .pre-commit-config.yaml (for contributors)
hooks: install
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-hooks.txt
	$(VENV)/bin/pre-commit install

clean:
	rm -rf $(OUT) $(OUT).partial cdk.out.test cdk.out.test.partial .diff .pytest_cache .ruff_cache .mypy_cache build/cfn-lint
