/*
 * The front's state (struct broker) and what is known of a request, shared
 * by the front's parts; each part declares its functions in its own header.
 */
#ifndef BROKER_H
#define BROKER_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "ctl.h"
#include "metrics.h"
#include "policy.h"
#include "keygen.h"
#include "files.h"
#include "joblink.h"
#include "wire.h"

struct audit;
struct stream;

#define BROKER_VERSION	PACKAGE_VERSION
#define BROKER_STREAMS_ENDED	64	/* ended streams' ids remembered */

/* Streamed inputs (stream.c); all zero is empty. */
struct stream_state {
	LIST_HEAD(, stream)	 open;
	int			 nopen;
	struct {
		const struct conn *conn;
		uint64_t	 id;
	}			 ended[BROKER_STREAMS_ENDED];
	unsigned int		 ended_next;
};

struct broker {
	struct config		*conf;
	struct policy		*policy;
	char			 files_hex[2][FILES_HEX_LEN + 1];
	struct keygen	*keyset;	/* current generation */
	const struct key_info	*keys;		/* its keys */
	size_t			 nkeys;
	char			 token_desc[SMSG_TEXT_MAX + 1];
	struct joblink		*jobs;		/* the links to the signer */
	struct server		*server;	/* the event loop (server.c) */
	struct connset		*conns;		/* its connections (conn.c) */
	uint32_t		 restart_asked;	/* bit i: every worker of
						   signer i stuck */
	int			 ctl_fd;	/* to the monitor */
	int			 audit_copy_fd;	/* audit lines to it, or -1 */
	struct metrics		*metrics;
	struct audit		*audit;		/* NULL: no audit log */
	uint64_t		 policy_generation;
	time_t			 started;
	struct ctl_signer_stats	 signer_stats;	/* the monitor's counts */
	struct stream_state	 streams;
};

struct conn;
struct connset;
struct server;

/* What is known of a request from its arrival to its answer. */
struct request_ctx {
	uint64_t	 id;
	enum p11b_op	 op;
	char		 key[P11B_KEY_NAME_MAX + 1];
	int		 key_index;	/* -1: none or unknown */
	char		 version[P11B_KEY_NAME_MAX + 1]; /* used, "": none */
	int		 pinned;	/* hmac-verify of one version only, */
	int		 version_key;	/* this entry (keyver.h) */
	enum p11b_alg	 alg;
	const uint8_t	*data;		/* the input, valid until dispatched */
	size_t		 datalen;
	uint64_t	 received_ns;	/* CLOCK_MONOTONIC */
	uint8_t		 input_sha256[32]; /* of data, when auditing */
	int		 input_hashed;
	const char	*gen_what;	/* generate: "ec-p256"..., or NULL */
};

#endif /* BROKER_H */
