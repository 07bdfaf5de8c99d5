/*
 * Reload: the files the monitor sent, put in force or refused.
 */
#ifndef RELOAD_H
#define RELOAD_H

#include "broker.h"

/* reload.c: the files the monitor sent; 0 when they are in force. */
int	broker_reload(struct broker *b, const uint8_t *body, size_t len,
	    int *fds, int nfds);
/* The monitor refused the new files: audit and log why. */
void	broker_reload_failed(struct broker *b, const char *why);

#endif /* RELOAD_H */
