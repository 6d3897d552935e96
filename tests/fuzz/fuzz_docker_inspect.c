/*
 * fuzz_docker_inspect.c: the parsers of Docker Engine answers that carry
 * JSON (src/dispatcher/docker-parse.c): container inspect, the RFC 3339
 * times inside it, and the pull progress stream. Any input must be
 * accepted or refused without a crash, a leak or undefined behaviour.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../dispatcher/docker.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_state	 st;
	char			 msg[128], *s;
	long long		 ms;

	if (docker_parse_inspect((const char *)data, size, &st) == 0) {
		/* What was accepted is bounded and terminated. */
		if (strlen(st.id) >= sizeof(st.id) ||
		    strlen(st.status) >= sizeof(st.status))
			abort();
	}
	docker_parse_pull((const char *)data, size, msg, sizeof(msg));
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (docker_parse_time(s, &ms) == 0 && ms < 0)
		abort();
	free(s);
	return 0;
}
