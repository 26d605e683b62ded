# isplab.bng: every command a user or CI runs. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR ?= 1
PLAYBOOK := ansible-playbook
SCENARIOS := $(sort $(filter-out default resources,$(notdir $(patsubst %/,%,$(dir $(wildcard molecule/*/molecule.yml))))))
# The order `make molecule` runs the scenarios in: cheap checks of the VM first.
SCENARIO_ORDER := lab_vm $(filter-out lab_vm,$(SCENARIOS))

.PHONY: help setup venv lint unit image vm-up vm-down lab test molecule molecule-shared $(addprefix molecule-,$(SCENARIOS))

help: ## List the targets
	@grep -hE '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'
	@echo "  molecule scenarios:    $(addprefix make molecule-,$(SCENARIOS))"

setup: ## Install the host packages (QEMU, debootstrap) and the pinned Python tooling in .venv
	scripts/install-host-deps
	scripts/make-venv

venv: ## Only (re)create .venv from requirements.txt
	scripts/make-venv

lint: venv ## yamllint, ansible-lint (production profile), ruff, module docs
	@echo "==> yamllint"; yamllint --strict .
	@echo "==> ruff"; ruff check . && ruff format --check .
	@echo "==> ansible-lint"; ansible-lint --offline
	@echo "==> ansible-doc of every module"; scripts/check-module-docs

unit: venv ## Unit tests (pure Python and, as root, real network namespaces)
	pytest tests/unit

image: setup ## Build the lab VM image (cached by its recipe; a few minutes the first time)
	$(PLAYBOOK) playbooks/lab_vm.yml -e lab_vm_state=image

vm-up: setup ## Boot the lab VM (persistent disk) and write its inventory
	$(PLAYBOOK) playbooks/lab_vm.yml

vm-down: venv ## Stop the lab VM
	$(PLAYBOOK) playbooks/lab_vm.yml -e lab_vm_state=stopped

lab: vm-up ## Stand up the lab (boots the lab VM and shows that it is ready)

molecule: setup ## Every molecule scenario, each in a fresh boot of the lab VM
	@for scenario in $(SCENARIO_ORDER); do \
	  echo "==> molecule scenario $$scenario"; \
	  molecule test -s $$scenario || exit 1; \
	done

molecule-shared: setup ## Every molecule scenario in one boot of the lab VM (scenarios clean up after themselves)
	molecule test --shared-state $(addprefix -s ,$(SCENARIO_ORDER))

$(addprefix molecule-,$(SCENARIOS)): molecule-%: setup ## One scenario in its own lab VM boot
	molecule test -s $*

test: setup lint unit molecule ## Everything CI runs
