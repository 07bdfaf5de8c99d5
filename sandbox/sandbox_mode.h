/*
 * What the config's "sandbox" statement may say, as sandbox/ takes it:
 * how strictly the seccomp allowlists hold, and how long its lists are.
 */
#ifndef SANDBOX_MODE_H
#define SANDBOX_MODE_H

/* Entries in the "sandbox allow" and "sandbox read" lists, at most. */
#define SANDBOX_LIST_MAX	64

/* "sandbox allow socket inet", as the allow list holds it. */
#define SANDBOX_ALLOW_INET	"socket:inet"

enum sandbox_mode {
	SANDBOX_ENFORCE,	/* a call outside the allowlist kills */
	SANDBOX_LOG,		/* it is logged and allowed */
	SANDBOX_OFF,
};

#endif /* SANDBOX_MODE_H */
