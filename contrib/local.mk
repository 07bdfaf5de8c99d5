# contrib/: example configuration, the demo and the set-up scripts.
EXTRA_DIST += contrib/p11brokerd.conf.example contrib/policy.conf.example \
	contrib/demo.sh contrib/install-deps.sh contrib/test.sh

# systemd units, installed under $(prefix)/lib/systemd/system.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = contrib/systemd/p11brokerd.service \
	contrib/systemd/p11brokerd.socket contrib/systemd/p11broker-exporter.service
EXTRA_DIST += $(systemdunit_DATA)

# Prometheus alert rules (with their promtool unit tests) and a Grafana
# dashboard, for p11broker-exporter's metrics.
EXTRA_DIST += contrib/prometheus/p11broker.rules.yml \
	contrib/prometheus/p11broker.rules.test.yml \
	contrib/grafana/p11broker.json contrib/logrotate.d/p11broker

# systemd drop-ins for HSMs the shipped unit cannot reach (network,
# loopback TCP, pcscd, PCIe), rated by tests/integration/systemd.sh.
EXTRA_DIST += contrib/systemd/drop-ins/network-hsm.conf \
	contrib/systemd/drop-ins/loopback-hsm.conf \
	contrib/systemd/drop-ins/pcscd.conf contrib/systemd/drop-ins/pcie-hsm.conf

# Recipes for the frontends (tests/integration/recipes.sh takes their
# conf blocks as they are).
EXTRA_DIST += contrib/recipes/README.md contrib/recipes/runbound.md \
	contrib/recipes/kipuka.md contrib/recipes/nginx.md \
	contrib/recipes/dnssec.md contrib/recipes/openssh-ca.md
# What vendor modules need from the config (contrib/vendors/README.md).
EXTRA_DIST += contrib/vendors/README.md contrib/vendors/tpm2-swtpm.conf
