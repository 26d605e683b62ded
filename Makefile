# isplab.bng: every command a user or CI runs. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR ?= 1
PLAYBOOK := ansible-playbook
# Images and VM state, outside the repository (the role lab_vm reads the same variable).
export ISPLAB_CACHE_DIR ?= $(HOME)/.cache/isplab-bng
LAB_INVENTORY := -i inventories/lab -i $(ISPLAB_CACHE_DIR)/vm/isplab/inventory.yml
# make lab OFFLINE=1: Debian's rp-pppoe server instead of accel-ppp (nothing to download).
# make lab ACCEL_PPP_SOURCE=/path: build accel-ppp from a local checkout or archive.
# make lab FAILOVER=1: the two BNGs as a hot-standby pair (role bng_failover, docs/failover.md).
LAB_VARS := $(if $(filter 1 yes true,$(OFFLINE)),-e isplab_pppoe_server=rp-pppoe) \
            $(if $(ACCEL_PPP_SOURCE),-e accel_ppp_source=$(ACCEL_PPP_SOURCE)) \
            $(if $(filter 1 yes true,$(FAILOVER)),-e isplab_failover=true)
# make lab-drill FAULT=kill|link|freeze, or ACTION=switchover (playbooks/failover.yml).
FAULT ?= kill
ACTION ?= drill
# make bench-failover SIZES=5,20,50 BENCH_OPTIONS="--columns padt,hitless".
SIZES ?= 5,20,50
BENCH_OPTIONS ?=
SCENARIOS := $(sort $(filter-out default resources,$(notdir $(patsubst %/,%,$(dir $(wildcard molecule/*/molecule.yml))))))
# The order `make molecule` runs the scenarios in: cheap checks of the VM first.
SCENARIO_ORDER := lab_vm $(filter-out lab_vm,$(SCENARIOS))
# What `make test` (CI) runs: the VM's own checks (lab_vm, which also builds the image), then side
# by side in two VMs the whole lab through every role with the real accel-ppp, built in the VM
# from its release source (site: converge, no-change re-run, end-to-end verify with the
# accel_ppp scenario's checks, teardown; ACCEL_PPP_SOURCE, by default the archive in
# ../shared/vendor when it is there), and the BNG failover with 20 subscribers on Debian's
# rp-pppoe server (failover:rp-pppoe), which keeps that server's coverage. accel-ppp's build
# costs about 10 minutes in a one-vCPU VM: the failover with accel-ppp and the site's change of
# server (ISPLAB_SITE_CHANGE_SERVER=1) run by hand until the build is cached in the image.
# Under software emulation every Ansible task costs seconds, so the per-role scenarios (make
# molecule) take hours there.
CI_FIRST := lab_vm
CI_SIDE_BY_SIDE := site failover:rp-pppoe
CI_SCENARIOS := $(CI_FIRST) $(CI_SIDE_BY_SIDE)
# accel-ppp's release source as the project's test machines keep it (../shared/vendor/README.md):
# `make test` and `make molecule-ci` build the real daemon from it unless ACCEL_PPP_SOURCE says
# otherwise. Users' labs keep upstream's git repository at the pinned tag as their default.
ACCEL_PPP_VENDORED := $(firstword $(wildcard $(abspath $(CURDIR)/../shared/vendor/accel-ppp-1.14.0.tar.gz)))
# Scenarios that build accel-ppp: without ACCEL_PPP_SOURCE (CI cannot fetch it) they are not run,
# and make says so, rather than booting a VM for a scenario that would do nothing.
ACCEL_PPP_SCENARIOS := accel_ppp
define run_scenario
if [ -z "$${ACCEL_PPP_SOURCE:-}" ] && [[ " $(ACCEL_PPP_SCENARIOS) " == *" $(1) "* ]]; then \
  echo "==> SKIPPED, not run: molecule scenario $(1) needs accel-ppp's source (ACCEL_PPP_SOURCE=/path/to/checkout-or-archive)"; \
else \
  echo "==> molecule scenario $(1)"; started=$$SECONDS; molecule test -s $(1); \
  echo "==> molecule scenario $(1): passed after $$(( (SECONDS - started) / 60 )) min $$(( (SECONDS - started) % 60 )) s"; \
fi
endef

.PHONY: help bench bench-failover setup venv lint lint-inventories unit image vm-up vm-down lab lab-verify lab-drill lab-teardown test molecule molecule-ci molecule-shared $(addprefix molecule-,$(SCENARIOS))

help: ## List the targets
	@grep -hE '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'
	@echo "  molecule scenarios:    $(addprefix make molecule-,$(SCENARIOS))"

setup: ## Install the host packages (QEMU, debootstrap) and the pinned Python tooling in .venv
	scripts/install-host-deps
	scripts/make-venv

venv: ## Only (re)create .venv from requirements-dev.txt
	scripts/make-venv

lint: venv ## yamllint, ruff, ansible-lint (production profile), ansible-test sanity
	@echo "==> yamllint"; yamllint --strict .
	@echo "==> ruff"; ruff check . && ruff format --check .
	@echo "==> ansible-lint"; ansible-lint --offline
	@echo "==> ansible-test sanity (tests/sanity/ignore-*.txt: what cannot be fixed, with why)"; scripts/ansible-test sanity --color no
	@$(MAKE) --no-print-directory lint-inventories

lint-inventories: venv ## The inventories: groups, playbook syntax, variables against the roles' specs
	@for inventory in "inventories/lab -i tests/inventories/lab_host.yml" "inventories/pair -e @tests/inventories/pair_secrets.yml"; do \
	  echo "==> -i $$inventory"; \
	  ansible-inventory -i $$inventory --graph || exit 1; \
	  for playbook in site verify teardown; do \
	    $(PLAYBOOK) -i $$inventory playbooks/$$playbook.yml --syntax-check >/dev/null || exit 1; \
	  done; \
	  $(PLAYBOOK) -i $$inventory tests/inventories/validate.yml -e isplab_pppoe_server=accel-ppp || exit 1; \
	done

unit: venv ## Unit tests with ansible-test units (pure Python and, as root, real network namespaces)
	scripts/ansible-test units --color no

image: setup ## Build the lab VM image (cached by its recipe; a few minutes the first time)
	$(PLAYBOOK) playbooks/lab_vm.yml -e lab_vm_state=image

vm-up: setup ## Boot the lab VM (persistent disk) and write its inventory
	$(PLAYBOOK) playbooks/lab_vm.yml

vm-down: venv ## Stop the lab VM
	$(PLAYBOOK) playbooks/lab_vm.yml -e lab_vm_state=stopped

lab: vm-up ## Stand up the whole lab in the lab VM, then verify it (OFFLINE=1: rp-pppoe, no accel-ppp)
	@echo "==> site.yml: topology, DNS64, NAT64/CLAT, BNGs ($(if $(filter 1 yes true,$(OFFLINE)),rp-pppoe,accel-ppp)), subscribers"
	$(PLAYBOOK) $(LAB_INVENTORY) playbooks/site.yml $(LAB_VARS)
	@echo "==> verify.yml: the lab from the subscribers' side"
	$(PLAYBOOK) $(LAB_INVENTORY) playbooks/verify.yml $(LAB_VARS)

lab-verify: venv ## Re-run the end-to-end checks of the running lab
	$(PLAYBOOK) $(LAB_INVENTORY) playbooks/verify.yml $(LAB_VARS)

lab-drill: venv ## In a lab stood up with FAILOVER=1: fail the active BNG (FAULT=kill|link|freeze) or ACTION=switchover; per-subscriber outage
	$(PLAYBOOK) $(LAB_INVENTORY) playbooks/failover.yml $(LAB_VARS) -e failover_action=$(ACTION) -e failover_fault=$(FAULT)

lab-teardown: venv ## Remove the lab from the lab VM (the VM keeps running: make vm-down)
	$(PLAYBOOK) $(LAB_INVENTORY) playbooks/teardown.yml $(LAB_VARS)

molecule: setup ## Every molecule scenario, each in a fresh boot of the lab VM
	@$(foreach scenario,$(SCENARIO_ORDER),$(call run_scenario,$(scenario)) && ) true

molecule-ci: setup ## The scenarios CI runs ($(CI_SCENARIOS)), each in a fresh boot of the lab VM
	@$(foreach scenario,$(CI_FIRST),$(call run_scenario,$(scenario)) && ) true
	scripts/molecule-side-by-side $(CI_SIDE_BY_SIDE)

molecule-shared: setup ## Every molecule scenario in one boot of the lab VM (scenarios clean up after themselves)
	molecule test --shared-state $(addprefix -s ,$(SCENARIO_ORDER))

$(addprefix molecule-,$(SCENARIOS)): molecule-%: setup ## One scenario in its own lab VM boot
	@$(call run_scenario,$*)

bench: venv ## The benchmarks that run on this machine (as root): session table parsing, topology apply
	@echo "==> benchmarks/accel_ppp_session_parse.py"; python benchmarks/accel_ppp_session_parse.py
	@echo "==> benchmarks/netns_topology_apply.py"; python benchmarks/netns_topology_apply.py

bench-failover: setup ## The failover benchmark in its own lab VM boot: SIZES=5,20,50 (ACCEL_PPP_SOURCE=path: accel-ppp)
	scripts/bench-failover $(SIZES) $(BENCH_OPTIONS)

test molecule-ci: export ACCEL_PPP_SOURCE ?= $(ACCEL_PPP_VENDORED)
test: setup lint unit molecule-ci ## What CI runs: lint, unit tests, the lab VM and the whole lab
