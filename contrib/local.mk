# contrib/: example configuration, the demo and the set-up scripts.
EXTRA_DIST += contrib/p11brokerd.conf.example contrib/policy.conf.example \
	contrib/demo.sh contrib/install-deps.sh contrib/test.sh
