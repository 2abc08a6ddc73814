/*
 * idset.c - open addressing (linear probing) over id slots, doubled at
 * half load.  See idset.h.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "idset.h"

struct slot {
	uint8_t		id[BLOB_ID_LEN];
	uint8_t		used;
	uint8_t		flags;
};

struct idset {
	struct slot	*s;
	size_t		 cap;		/* a power of two */
	size_t		 n;
};

static size_t
hash(const uint8_t *id)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	return (size_t)h;
}

struct idset *
idset_new(void)
{
	struct idset *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->cap = 1024;
	if ((t->s = calloc(t->cap, sizeof(*t->s))) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
idset_free(struct idset *t)
{
	if (t != NULL) {
		free(t->s);
		free(t);
	}
}

static struct slot *
probe(struct slot *s, size_t cap, const uint8_t *id)
{
	size_t i = hash(id) & (cap - 1);

	while (s[i].used && memcmp(s[i].id, id, BLOB_ID_LEN) != 0)
		i = (i + 1) & (cap - 1);
	return &s[i];
}

static int
grow(struct idset *t)
{
	size_t ncap = t->cap * 2;
	struct slot *ns, *d;

	if ((ns = calloc(ncap, sizeof(*ns))) == NULL)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->s[i].used) {
			d = probe(ns, ncap, t->s[i].id);
			*d = t->s[i];
		}
	free(t->s);
	t->s = ns;
	t->cap = ncap;
	return 0;
}

uint8_t *
idset_add(struct idset *t, const uint8_t id[BLOB_ID_LEN])
{
	struct slot *sl;

	if (2 * (t->n + 1) > t->cap && grow(t) == -1)
		return NULL;
	sl = probe(t->s, t->cap, id);
	if (!sl->used) {
		memcpy(sl->id, id, BLOB_ID_LEN);
		sl->used = 1;
		sl->flags = 0;
		t->n++;
	}
	return &sl->flags;
}

uint8_t *
idset_find(struct idset *t, const uint8_t id[BLOB_ID_LEN])
{
	struct slot *sl = probe(t->s, t->cap, id);

	return sl->used ? &sl->flags : NULL;
}

size_t
idset_count(const struct idset *t)
{
	return t->n;
}

int
idset_collect(const struct idset *t, uint8_t mask,
    uint8_t (**out)[BLOB_ID_LEN], size_t *n)
{
	size_t k = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < t->cap; i++)
		if (t->s[i].used && (t->s[i].flags & mask) == mask)
			k++;
	if ((*out = malloc(k ? k * BLOB_ID_LEN : 1)) == NULL)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->s[i].used && (t->s[i].flags & mask) == mask)
			memcpy((*out)[(*n)++], t->s[i].id, BLOB_ID_LEN);
	return 0;
}
