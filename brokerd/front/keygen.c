/* The front's refcounted generations of keys (keygen.h). */
#include <stdlib.h>

#include "keygen.h"

struct keygen {
	struct key_info	*keys;
	size_t		 nkeys;
	int		 refs;
};

struct keygen *
keygen_new(struct key_info *keys, size_t nkeys)
{
	struct keygen *kg;

	if ((kg = calloc(1, sizeof(*kg))) == NULL)
		return NULL;
	kg->keys = keys;
	kg->nkeys = nkeys;
	kg->refs = 1;
	return kg;
}

void
keygen_hold(struct keygen *kg)
{
	kg->refs++;
}

void
keygen_release(struct keygen *kg)
{
	if (kg == NULL || --kg->refs > 0)
		return;
	key_info_free(kg->keys, kg->nkeys);
	free(kg);
}

const struct key_info *
keygen_keys(const struct keygen *kg, size_t *nkeys)
{
	*nkeys = kg->nkeys;
	return kg->keys;
}
