/*
 * fault-pkcs11: a PKCS#11 module for tests that forwards every call to a
 * real module (SoftHSM2) and injects the faults named in a control file.
 * See tests/faultmod/README.md.
 */
#ifndef FAULTMOD_FAULT_H
#define FAULTMOD_FAULT_H

#include <p11-kit/pkcs11.h>

#include "funcs.h"

#define FAULT_NAME_FN(name, params, args)	FN_##name,
enum fault_fn {
	FAULT_FUNCTIONS(FAULT_NAME_FN, FAULT_NAME_FN)
	FN_C_GetFunctionList,
	FN_COUNT
};
#undef FAULT_NAME_FN

#define RULE_TEXT_MAX	160	/* a rule's words, as written */

/* What the rules decided for one call. */
struct fault_call {
	enum fault_fn	 fn;
	int		 faulted;	/* some rule fired */
	int		 corrupt;	/* flip a bit of the output */
	int		 crash;		/* abort() before the call */
	int		 socket_family;	/* open and close one first; 0: no */
	int		 io;		/* 0, or an open/create/connect first */
	char		 io_arg[RULE_TEXT_MAX];	/* its path or port */
	unsigned long	 delay_ms;	/* sleep this long first */
	char		 hang[RULE_TEXT_MAX];	/* block until it goes */
	char		 fired[RULE_TEXT_MAX];	/* the first rule that fired */
};

extern const char *const fault_fn_names[FN_COUNT];

/* rules.c */
void	 fault_rules_init(const char *control, int verbose);
int	 fault_rules_decide(struct fault_call *, int has_output, CK_RV *);
void	 fault_rules_wait(const struct fault_call *);
int	 fault_fn_lookup(const char *);
int	 fault_rv_lookup(const char *, CK_RV *);
const char *fault_rv_name(CK_RV);

/* counts.c */
void	 fault_counts_init(const char *path);
void	 fault_counts_add(enum fault_fn, int faulted);

/* log.c-like helper in rules.c: one line to stderr, prefixed. */
void	 fault_log(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif /* FAULTMOD_FAULT_H */
