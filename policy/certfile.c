/*
 * The certificates the config names (key NAME ... certificate "PATH"):
 * read by the monitor, at start and at each reload, through fcheck (a
 * file that grants trust: root's or ours, not writable by others, no
 * link, no FIFO), parsed here so that only DER crosses to the signer.
 * A PEM file holds the key's certificate first, then its issuers.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certfile.h"
#include "fcheck.h"

static int
read_fd(int fd, size_t max, uint8_t **bufp, size_t *lenp)
{
	uint8_t *buf;
	size_t len = 0;
	ssize_t n;

	if ((buf = malloc(max + 1)) == NULL)
		return -1;
	for (;;) {
		n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(buf);
			errno = EFBIG;
			return -1;
		}
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

/* Append one certificate's DER to *derp. */
static int
append_der(X509 *x, uint8_t **derp, size_t *lenp)
{
	uint8_t *nd, *p;
	int n;

	if ((n = i2d_X509(x, NULL)) <= 0 ||
	    (nd = realloc(*derp, *lenp + (size_t)n)) == NULL)
		return -1;
	*derp = nd;
	p = nd + *lenp;
	if (i2d_X509(x, &p) != n)
		return -1;
	*lenp += (size_t)n;
	return 0;
}

/* PEM certificates, one or more, and nothing else that PEM holds. */
static int
parse_pem(const uint8_t *buf, size_t len, uint8_t **derp, size_t *lenp,
    size_t *countp)
{
	BIO *bio;
	X509 *x;
	unsigned long e;
	int r = 0;

	*derp = NULL;
	*lenp = 0;
	*countp = 0;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
		return -1;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (*countp >= CERTFILE_MAX_CERTS ||
		    append_der(x, derp, lenp) != 0)
			r = -1;
		X509_free(x);
		if (r != 0)
			break;
		(*countp)++;
	}
	/* The end of the file is "no start line"; anything else is bad. */
	e = ERR_peek_last_error();
	if (r == 0 && e != 0 && ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
		r = -1;
	ERR_clear_error();
	BIO_free(bio);
	if (r != 0 || *countp == 0) {
		free(*derp);
		*derp = NULL;
		*lenp = 0;
		return -1;
	}
	return 0;
}

static int
load_one(const char *conffile, struct key_ref *k, char *errbuf,
    size_t errlen)
{
	char why[256];
	struct stat st;
	uint8_t *buf = NULL;
	size_t len, count;
	int fd, r = -1;

	if ((fd = fcheck_open_read(k->cert_path, FCHECK_GRANTS, &st, why,
	    sizeof(why))) == -1) {
		snprintf(errbuf, errlen, "%s:%d: key %s: certificate: %s",
		    conffile, k->line, k->name, why);
		return -1;
	}
	if (read_fd(fd, CERTFILE_MAX, &buf, &len) != 0) {
		snprintf(errbuf, errlen, "%s:%d: key %s: certificate %s: %s",
		    conffile, k->line, k->name, k->cert_path, errno == EFBIG ?
		    "larger than " "256 KiB" : strerror(errno));
		goto out;
	}
	if (parse_pem(buf, len, &k->cert, &k->certlen, &count) != 0) {
		snprintf(errbuf, errlen, "%s:%d: key %s: certificate %s: not "
		    "PEM X.509 certificates (at most %d)", conffile, k->line,
		    k->name, k->cert_path, CERTFILE_MAX_CERTS);
		goto out;
	}
	r = 0;
 out:
	free(buf);
	close(fd);
	return r;
}

int
certfile_load_all(struct config *conf, char *errbuf, size_t errlen)
{
	struct key_ref *k;
	size_t i;

	for (i = 0; i < conf->nkeys; i++) {
		k = &conf->keys[i];
		if (k->cert_path == NULL)
			continue;
		free(k->cert);
		k->cert = NULL;
		k->certlen = 0;
		if (load_one(conf->path, k, errbuf, errlen) != 0)
			return -1;
	}
	return 0;
}
