/*
 * policy.conf: who may do what with which key.  Anything not permitted is
 * denied.  See p11broker-policy(5).
 */
#ifndef POLICY_H
#define POLICY_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "p11broker_vocab.h"

/* Who is asking: from SO_PEERCRED and SO_PEERGROUPS. */
struct peer_cred {
	pid_t		pid;
	uid_t		uid;
	gid_t		gid;
	gid_t		*groups;	/* supplementary groups, all of them */
	int		ngroups;
};

/* A token bucket: one per rule with a rate and per calling uid. */
struct rate_bucket {
	uint32_t	 uid;
	double		 tokens;
	uint64_t	 last_ns;
};

struct policy_rule {
	int		 is_group;
	uint32_t	 who;		/* uid or gid */
	char		*who_name;	/* as written, for printing */
	int		 unresolved;	/* unknown name: matches nobody */
	enum p11b_op	 op;
	int		*keys;		/* config key indexes */
	size_t		 nkeys;
	uint32_t	 algs;		/* (1 << alg) pinned; 0: any that fits */
	size_t		 max_input;	/* bytes, 0: no limit */
	uint32_t	 rate;		/* per second and caller, 0: none */
	struct rate_bucket *buckets;
	size_t		 nbuckets;
	int		 line;
};

/* One request as the policy sees it. */
struct policy_request {
	enum p11b_op	 op;
	int		 key;		/* config key index, -1: none */
	enum p11b_alg	 alg;		/* NONE for operations without one */
	size_t		 inlen;		/* input bytes (random: length asked) */
	uint64_t	 now_ns;	/* CLOCK_MONOTONIC, for rates */
	size_t		 max_input;	/* out: the deciding rule's, 0: none */
};

struct policy {
	char			*path;
	struct policy_rule	*rules;
	size_t			 nrules;
	size_t			 nkeys;		/* keys in the config */
};

int	policy_load(const char *path, const struct config *conf,
	    struct policy **polp, char *errbuf, size_t errlen);
int	policy_parse(const char *file, const char *buf, size_t len,
	    const struct config *conf, struct policy **polp, char *errbuf,
	    size_t errlen);
void	policy_free(struct policy *pol);

/* May this peer do op (on key, -1 for key-less operations)? */
int	policy_permits(const struct policy *pol, const struct peer_cred *peer,
	    enum p11b_op op, int key);
/*
 * The decision for one request: the first rule in file order that matches
 * caller, operation, key, algorithm and input size allows it, subject to
 * its rate.  Returns P11B_OK, P11B_DENIED, P11B_TOO_LARGE (a rule would
 * match but for max-input) or P11B_RATE_LIMITED; *why says why not.
 */
int	policy_check(struct policy *pol, const struct peer_cred *peer,
	    struct policy_request *req, const char **why);
/*
 * Algorithms (1 << alg) the peer may use with key under its sign, hmac and
 * hmac-verify rules; every algorithm but the weak ones (algs.h) when one
 * of them pins none.
 */
uint32_t policy_key_algs(const struct policy *pol,
	    const struct peer_cred *peer, int key);
/*
 * Check pinned algorithms against the keys' types: fits(alg, key) says
 * whether an algorithm can be used with a key.  -1 with "file:line: ..."
 * when a rule pins an algorithm that fits none of its keys.
 */
int	policy_check_algs(const struct policy *pol,
	    int (*fits)(enum p11b_alg, int, void *), void *arg, char *errbuf,
	    size_t errlen);
/* Does any rule name this peer (its uid, gid or a group)? */
int	policy_knows(const struct policy *pol, const struct peer_cred *peer);
/* Bit mask (1 << op) of what the peer may do with key; 0: key invisible. */
uint32_t policy_key_ops(const struct policy *pol,
	    const struct peer_cred *peer, int key);
/*
 * The rules whose user or group name did not resolve (they grant
 * nothing): 1 with the next one in *rulep, from *next (start at 0).
 */
int	policy_unresolved(const struct policy *pol, size_t *next,
	    const struct policy_rule **rulep);
/* Print one normalised line per rule. */
void	policy_print(const struct policy *pol, const struct config *conf,
	    FILE *fp);

#endif /* POLICY_H */
