/* State shared by the parts of the daemon. */
#ifndef FRONT_H
#define FRONT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "audit.h"
#include "config.h"
#include "metrics.h"
#include "policy.h"
#include "keygen.h"
#include "files.h"
#include "joblink.h"
#include "wire.h"

#define BROKER_VERSION	PACKAGE_VERSION

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
	int			 restart_asked;	/* every worker stuck */
	int			 ctl_fd;	/* to the monitor */
	struct metrics		*metrics;
	struct audit		*audit;		/* NULL: no audit log */
	uint64_t		 policy_generation;
	time_t			 started;
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
	enum p11b_alg	 alg;
	const uint8_t	*data;		/* the input, valid until dispatched */
	size_t		 datalen;
	uint64_t	 received_ns;	/* CLOCK_MONOTONIC */
	uint8_t		 input_sha256[32]; /* of data, when auditing */
	int		 input_hashed;
};

/* server.c: set up before the sandbox, then run until stopped. */
int	server_init(struct broker *b, int listen_fd);
int	server_run(struct broker *b);
/* conn.c: queue a response frame (the loop sends it at the end of the turn). */
void	conn_reply(struct conn *c, const struct wire_response *resp);
const struct peer_cred *conn_peer(const struct conn *c);
/* conn.c: connections open now. */
int	connset_count(const struct connset *set);
/* Close the connection once its queued answers are sent. */
void	conn_close_after_reply(struct conn *c);
/*
 * Count a request handed to the workers / answered by them, with the
 * bytes it holds meanwhile (in the front's memory budget).
 */
void	conn_hold(struct conn *c, size_t bytes);
/* Returns 0 when the connection is gone and the reply must be dropped. */
int	conn_release(struct conn *c, size_t bytes);
/*
 * A refusal of a caller the policy does not know: 1 when it is only
 * counted (callers.c sums it up in the audit log), 0 when it gets its
 * own decision line.
 */
int	conn_refusal_counted(struct conn *c);

/* control.c: one message from the monitor; -1 when it is gone. */
int	front_control(struct broker *b);
/* control.c: once a second, stuck jobs; ask once for a new signer. */
void	front_sweep(struct broker *b);

/* front.c: the front process; never returns. */
void	front_main(struct broker *b, int listen_fd, int ctl_fd, int *links,
	    int nlinks) __attribute__((noreturn));
/* signers.c: open a signer's links, check its hello against conf, pol. */
int	front_take_signer(struct broker *b, const struct config *conf,
	    const struct policy *pol, int *fds, int nfds,
	    struct joblink_gen **genp, struct keygen **ksp, char *desc,
	    char *errbuf, size_t errlen);
/* signers.c: make a key generation current (the old goes when unused). */
void	front_use_keys(struct broker *b, struct keygen *ks, const char *desc);
/* signers.c: a restarted signer's links made current.  0 on success. */
int	front_adopt_signer(struct broker *b, int *fds, int nfds);

/* reload.c: the files the monitor sent; 0 when they are in force. */
int	broker_reload(struct broker *b, const uint8_t *body, size_t len,
	    int *fds, int nfds);
/* The monitor refused the new files: audit and log why. */
void	broker_reload_failed(struct broker *b, const char *why);

/* dispatch.c */
void	dispatch_frame(struct broker *b, struct conn *c, const uint8_t *body,
	    size_t len);
/* Answer a frame that could not be read (id 0), then hang up. */
void	dispatch_frame_error(struct broker *b, struct conn *c, int status,
	    const char *message);

#endif /* FRONT_H */
