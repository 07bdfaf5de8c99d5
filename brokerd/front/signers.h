/*
 * The signer's links and keys as the front takes them.
 */
#ifndef SIGNERS_H
#define SIGNERS_H

#include "broker.h"

/* signers.c: open a signer's links, check its hello against conf, pol. */
int	front_take_signer(struct broker *b, const struct config *conf,
	    const struct policy *pol, int token, int *fds, int nfds,
	    struct joblink_gen **genp, struct keygen **ksp, char *desc,
	    char *errbuf, size_t errlen);
/* signers.c: another signer's keys into a generation.  0 or -1. */
int	front_keys_merge(struct keygen **ksp, struct keygen *add,
	    const struct config *conf, const struct policy *pol,
	    int *changed, char *err, size_t errlen);
/* signers.c: make a key generation current (the old goes when unused). */
void	front_use_keys(struct broker *b, struct keygen *ks, const char *desc);
/* signers.c: a restarted signer's links current in slot.  0: success. */
int	front_adopt_signer(struct broker *b, int slot, int *fds, int nfds);

#endif /* SIGNERS_H */
