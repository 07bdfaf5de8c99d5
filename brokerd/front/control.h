/*
 * The monitor's messages to the front, and the stuck-job sweep.
 */
#ifndef CONTROL_H
#define CONTROL_H

#include "broker.h"

/* control.c: one message from the monitor; -1 when it is gone. */
int	front_control(struct broker *b);
/* control.c: once a second, stuck jobs; ask once for a new signer. */
void	front_sweep(struct broker *b);

#endif /* CONTROL_H */
