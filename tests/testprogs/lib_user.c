/* An executable without probes that calls a library with them.
 *   lib_user once TRUTH   5 spans, then exit
 *   lib_user loop TRUTH   a span every ~2 ms until SIGTERM (TRUTH.ready
 *                         appears once it runs)
 * TRUTH gets {"recorded_by_app": N}. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int probes_lib_span(long seq);

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int recorded = 0;
	if (strcmp(argv[1], "once") == 0) {
		for (long i = 0; i < 5; ++i)
			recorded += probes_lib_span(i);
	} else {
		signal(SIGTERM, on_term);
		char ready[4096];
		snprintf(ready, sizeof(ready), "%s.ready", argv[2]);
		FILE *r = fopen(ready, "w");
		if (r)
			fclose(r);
		for (long i = 0; !stop; ++i) {
			recorded += probes_lib_span(i);
			usleep(2000);
		}
	}
	FILE *f = fopen(argv[2], "w");
	if (!f)
		return 1;
	fprintf(f, "{\"recorded_by_app\": %d}\n", recorded);
	fclose(f);
	return 0;
}
