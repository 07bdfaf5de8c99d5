/*
 * The config's values that confinement needs, as sandbox/ takes them.
 */
#include <string.h>

#include "sandbox_conf.h"

void
sandbox_conf_of(const struct config *conf, const char *module,
    struct sandbox_conf *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->config_path = conf->path;
	sc->user = conf->user;
	sc->uid = conf->user_uid;
	sc->gid = conf->user_gid;
	sc->mode = conf->sandbox_mode;
	sc->allow = conf->sandbox_allow;
	sc->nallow = conf->nsandbox_allow;
	sc->read = conf->sandbox_read;
	sc->nread = conf->nsandbox_read;
	sc->write = conf->sandbox_write;
	sc->nwrite = conf->nsandbox_write;
	sc->connect = conf->sandbox_connect;
	sc->nconnect = conf->nsandbox_connect;
	sc->unix_paths = conf->sandbox_unix;
	sc->nunix = conf->nsandbox_unix;
	sc->module = module;
}
