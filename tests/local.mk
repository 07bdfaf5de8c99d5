# tests/: unit tests (C, TAP), integration tests (shell, TAP) against a
# throwaway SoftHSM2 token, fuzz targets and the benchmark.
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	SOFTHSM_MODULE='$(SOFTHSM_MODULE)'

include $(srcdir)/tests/unit/local.mk
include $(srcdir)/tests/integration/local.mk

EXTRA_DIST += tests/bench/run.sh
