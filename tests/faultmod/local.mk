# tests/faultmod/: fault-pkcs11.so, a PKCS#11 module for tests that wraps
# SoftHSM2 and injects the faults named in a control file (see
# tests/faultmod/README.md), and faultdrive, a threaded signer that the
# module's own test (tests/integration/fault_module.sh) drives it with.
# Built by make check.  No sanitizers in either: plain programs
# (pkcs11-tool) load the module, and a sanitized module cannot be loaded
# into them.
FAULTMOD_CFLAGS = $(WARN_CFLAGS) $(PTHREAD_CFLAGS)

check_LTLIBRARIES += tests/faultmod/fault-pkcs11.la
tests_faultmod_fault_pkcs11_la_SOURCES = \
	tests/faultmod/fault.c tests/faultmod/rules.c \
	tests/faultmod/counts.c tests/faultmod/fault.h tests/faultmod/funcs.h
tests_faultmod_fault_pkcs11_la_CPPFLAGS = $(P11KIT_CFLAGS) \
	-DFAULT_DEFAULT_MODULE='"$(SOFTHSM_MODULE)"'
tests_faultmod_fault_pkcs11_la_CFLAGS = $(FAULTMOD_CFLAGS)
# -rpath: a check library is a convenience archive unless told otherwise.
tests_faultmod_fault_pkcs11_la_LDFLAGS = -module -avoid-version -shared \
	-no-undefined -rpath '$(abs_builddir)/tests/faultmod' \
	-export-symbols-regex '^C_GetFunctionList$$'
tests_faultmod_fault_pkcs11_la_LIBADD = $(PTHREAD_LIBS) $(LIBS)

check_PROGRAMS += tests/faultmod/faultdrive
tests_faultmod_faultdrive_SOURCES = tests/faultmod/faultdrive.c
tests_faultmod_faultdrive_CPPFLAGS = $(P11KIT_CFLAGS)
tests_faultmod_faultdrive_CFLAGS = $(FAULTMOD_CFLAGS)
tests_faultmod_faultdrive_LDFLAGS =
tests_faultmod_faultdrive_LDADD = $(PTHREAD_LIBS) $(LIBS)

EXTRA_DIST += tests/faultmod/README.md
