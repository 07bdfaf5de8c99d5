/*
 * The broker's counters in the Prometheus text exposition format
 * (version 0.0.4), for `p11broker stats --prometheus` and
 * p11broker-exporter.
 */
#ifndef PROM_TEXT_H
#define PROM_TEXT_H

#include <stdio.h>

#include "p11broker.h"

/* Every family of the Stats answer; -1 when the stream failed. */
int	prom_write_stats(FILE *fp, const struct p11b_stats *st);

#endif /* PROM_TEXT_H */
