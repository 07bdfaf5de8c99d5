# contrib/: example configuration, the demo and the set-up scripts.
EXTRA_DIST += contrib/p11brokerd.conf.example contrib/policy.conf.example \
	contrib/demo.sh contrib/install-deps.sh contrib/test.sh

# systemd units, installed under $(prefix)/lib/systemd/system.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = contrib/systemd/p11brokerd.service \
	contrib/systemd/p11brokerd.socket contrib/systemd/p11broker-exporter.service
EXTRA_DIST += $(systemdunit_DATA)
