# libp11broker against a scripted fake broker (pipelining, failures).
check_PROGRAMS += tests/unit/test_client
tests_unit_test_client_SOURCES = tests/unit/test_client.c tests/unit/tap.h
tests_unit_test_client_LDADD = client/libp11broker.la $(UNIT_LDADD) \
	$(PTHREAD_LIBS)
TESTS += tests/unit/test_client
