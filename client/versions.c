/* Key versions in libp11broker (p11broker.h, "Key versions"). */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "p11broker.h"
#include "wire.h"

static _Thread_local char last_version[P11B_KEY_NAME_MAX + 1];
static _Thread_local int last_previous;

void
client_note_version(const struct wire_response *resp)
{
	strlcpy(last_version, resp->version, sizeof(last_version));
	last_previous = resp->previous;
}

const char *
p11b_last_version(int *previousp)
{
	if (previousp != NULL)
		*previousp = last_previous;
	return last_version;
}

int
p11b_list_key_versions(struct p11b_conn *conn,
    struct p11b_key_version **versionsp, size_t *nversionsp)
{
	struct wire_request req;
	struct wire_response resp;
	struct p11b_key_version *v = NULL;
	size_t i;
	int r;

	if (versionsp == NULL || nversionsp == NULL) {
		conn_set_message("no output pointer");
		return P11B_ERR_INVALID;
	}
	*versionsp = NULL;
	*nversionsp = 0;
	if (conn == NULL) {
		conn_set_message("no connection");
		return P11B_ERR_INVALID;
	}
	memset(&req, 0, sizeof(req));
	req.op = P11B_OP_LIST;
	if ((r = conn_call(conn, &req, &resp)) != 0)
		return r;
	if (resp.status != P11B_OK || resp.op != P11B_OP_LIST) {
		conn_set_message(resp.status != P11B_OK ? resp.message :
		    "response of the wrong kind");
		r = resp.status != P11B_OK ? resp.status : P11B_ERR_PROTOCOL;
		wire_response_free(&resp);
		return r;
	}
	if (resp.nkeys > 0 && (v = calloc(resp.nkeys, sizeof(*v))) == NULL) {
		wire_response_free(&resp);
		conn_set_message("out of memory");
		return P11B_ERR_NOMEM;
	}
	for (i = 0; i < resp.nkeys; i++) {
		v[i].key = resp.keys[i];
		if (resp.key_versions == NULL)
			continue;
		strlcpy(v[i].version, resp.key_versions[i].version,
		    sizeof(v[i].version));
		v[i].previous = resp.key_versions[i].previous;
	}
	*versionsp = v;
	*nversionsp = resp.nkeys;
	wire_response_free(&resp);
	conn_set_message("");
	return 0;
}
