/*
 * p11brokerd.conf: the socket, limits, the token and the logical key
 * names.  See p11brokerd.conf(5).
 */
#ifndef CONFIG_H_P11B
#define CONFIG_H_P11B

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "p11broker_vocab.h"
#include "sandbox_mode.h"
#include "token_ref.h"

#define CONFIG_MAX_KEYS		256
#define CONFIG_FILE_MAX		(1024 * 1024)
#define CONFIG_SANDBOX_MAX	SANDBOX_LIST_MAX /* allow / read entries */
#define CONFIG_MAX_INPUT_MAX	(1024UL * 1024 * 1024)	/* max-input */
#define CONFIG_MAX_STREAMS_MAX	64	/* a signer worker's own bound */
#define CONFIG_MAX_SIGNERS	16	/* signer processes */
#define CONFIG_MAX_LINKS	64	/* signers x workers: one reload's links */
#define CONFIG_MAX_BATCH_MAX	1024	/* max-batch; SMSG_BATCH_MAX */
#define CONFIG_DEFAULT_MAX_BATCH	256

enum pin_source {
	PIN_NONE,
	PIN_ENV,		/* ref: variable name */
	PIN_FILE,		/* ref: path */
	PIN_CREDENTIAL,		/* ref: credential name */
	PIN_LITERAL,		/* ref: the PIN itself (warned about) */
};

/*
 * A token block: one token, its module, its PIN and its signer processes
 * (token NAME { ... }).  Keys say which blocks hold them (key_ref.tokens);
 * a key held by several is served by any of them that is up.
 */
#define CONFIG_MAX_TOKENS	8
#define CONFIG_DEFAULT_TOKEN	"token"	/* the name of an unnamed block */
#define CONFIG_ALL_TOKENS	((1U << CONFIG_MAX_TOKENS) - 1)

struct token_block {
	char			 name[P11B_KEY_NAME_MAX + 1];
	int			 line;
	char			*module;
	enum token_select	 token_by;
	char			*token_label;	/* label or serial */
	unsigned long		 token_slot;
	enum pin_source		 pin_source;
	char			*pin_ref;
	size_t			 pin_start;	/* PIN_LITERAL: its bytes */
	size_t			 pin_end;
	char			**module_env;	/* NAME=VALUE, for the module */
	size_t			 nmodule_env;
	char			*profile;	/* "profile NAME", or NULL */
	int			 signers;	/* its signer processes */
	int			 signers_set;	/* given in the block */
	int			 first_signer;	/* its first in the monitor's
						   slots: the blocks' signers
						   in order */
};

struct config {
	char			*path;
	char			*socket_path;
	uid_t			 socket_owner;	/* (uid_t)-1: unchanged */
	gid_t			 socket_group;	/* (gid_t)-1: unchanged */
	mode_t			 socket_mode;
	int			 workers;	/* per signer */
	int			 signers;	/* processes, every token's */
	int			 signers_default; /* per token, unless it says */
	int			 signers_set;	/* given, not the default */
	size_t			 max_frame;
	int			 max_clients;
	int			 idle_timeout;	/* seconds, 0: none */
	int			 max_clients_per_uid;
	int			 frame_timeout;	/* seconds for one frame */
	size_t			 max_buffered;	/* bytes, all connections */
	unsigned int		 unknown_rate;	/* requests/s, unknown uid */
	unsigned int		 refusal_interval; /* seconds per summary */
	size_t			 max_input;	/* bytes of a streamed input */
	int			 max_streams;	/* open at once, all callers */
	int			 max_streams_per_uid;
	int			 stream_timeout; /* seconds, a whole stream */
	unsigned int		 max_batch;	/* items per batch request */
	char			*policy_path;

	struct token_block	*tokens;	/* CONFIG_MAX_TOKENS */
	size_t			 ntokens;

	struct key_ref		*keys;
	size_t			 nkeys;
	struct keyspace		*keyspaces;	/* CONFIG_MAX_KEYSPACES */
	size_t			 nkeyspaces;

	char			*audit_path;	/* NULL: no audit log */
	char			*audit_key;	/* checkpoint key (logical name) */
	int			 audit_line;	/* of the audit statement */
	unsigned int		 audit_lines;	/* checkpoint every N lines */
	unsigned int		 audit_seconds;	/* and every T seconds */
	int			 audit_fail_open; /* keep serving if unwritable */
	char			*audit_anchor;	/* last checkpoint, or NULL */
	int			 audit_syslog;	/* LOG_* facility, or 0: none */
	char			*audit_syslog_socket; /* NULL: /dev/log */

	char			*user;		/* NULL: stay who we are */
	uid_t			 user_uid;
	gid_t			 user_gid;
	enum sandbox_mode	 sandbox_mode;
	char			**sandbox_allow;	/* extra system calls */
	size_t			 nsandbox_allow;
	char			**sandbox_read;	/* signer's readable paths */
	size_t			 nsandbox_read;
	char			**sandbox_write; /* and writable ones */
	size_t			 nsandbox_write;
	char			**sandbox_connect; /* TCP ports, decimal */
	size_t			 nsandbox_connect;
	char			**sandbox_unix;	/* sandbox connect-unix */
	size_t			 nsandbox_unix;
	unsigned int		 token_timeout;	/* seconds, 0: wait forever */
	unsigned int		 stop_timeout;	/* seconds to drain at SIGTERM */
	unsigned int		 front_watchdog; /* seconds, 0: off */
};

/*
 * Parse a config file.  On error, returns -1 with "file:line: message"
 * in errbuf and *confp untouched.
 */
int	config_load(const char *path, struct config **confp, char *errbuf,
	    size_t errlen);
/* The same from a buffer (used by the tests and the fuzzer). */
int	config_parse(const char *file, const char *buf, size_t len,
	    struct config **confp, char *errbuf, size_t errlen);
void	config_free(struct config *conf);
/* Index of a logical key name, or -1. */
int	config_key_index(const struct config *conf, const char *name);
/* Index of a token block's name, or -1. */
int	config_token_index(const struct config *conf, const char *name);
/* The token block of signer slot i (i < conf->signers). */
int	config_slot_token(const struct config *conf, int slot);
/* Index of a keyspace name, or -1 (policy/keyspace.c). */
int	config_keyspace_index(const struct config *conf, const char *name);

#endif /* CONFIG_H_P11B */
