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
#include "p11broker.h"

#define POLICY_MAX_GROUPS	64

/* Who is asking: from SO_PEERCRED and SO_PEERGROUPS. */
struct peer_cred {
	pid_t		pid;
	uid_t		uid;
	gid_t		gid;
	gid_t		groups[POLICY_MAX_GROUPS];
	int		ngroups;
};

struct policy_rule {
	int		 is_group;
	uint32_t	 who;		/* uid or gid */
	char		*who_name;	/* as written, for printing */
	enum p11b_op	 op;
	int		*keys;		/* config key indexes */
	size_t		 nkeys;
	int		 line;
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
/* Bit mask (1 << op) of what the peer may do with key; 0: key invisible. */
uint32_t policy_key_ops(const struct policy *pol,
	    const struct peer_cred *peer, int key);
/* Print one normalised line per rule. */
void	policy_print(const struct policy *pol, const struct config *conf,
	    FILE *fp);

#endif /* POLICY_H */
