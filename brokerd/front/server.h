/*
 * The event loop: set up before the sandbox, then run until stopped.
 */
#ifndef SERVER_H
#define SERVER_H

#include "broker.h"

/* server.c: set up before the sandbox, then run until stopped. */
int	server_init(struct broker *b, int listen_fd);
int	server_run(struct broker *b);

#endif /* SERVER_H */
