/* The C API recorded for real: a scoped parent span with tags of every
 * type (carried in its tag buffer) and a failed child span.  With a second
 * argument "overflow", then a span with more tags than its buffer holds, a
 * value too long for it and a key set again after the overflow, and a span
 * with a value too long for the buffer between two that fit
 * (docs/probes.md: the tag buffer).  Writes its pid as ground truth to the
 * file named by the first argument. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <lstrace/lstrace.h>

/* More tags than the buffer holds, then a key set again after the
 * overflow and a value too long for the probe. */
static void many_tags(void)
{
	LSTRACE_SPAN(many, "c_component", "many_tags", "more tags than the buffer holds");
	char key[16];
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		lstrace_tag_int(&many, key, i * 1000);
	}
	lstrace_tag_str(&many, "k0", "set again"); /* after the overflow: wins */
	char long_value[400];
	memset(long_value, 'v', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	lstrace_tag_str(&many, "long", long_value);
}

/* A value too long for the buffer between two tags that fit. */
static void long_value(void)
{
	LSTRACE_SPAN(cut, "c_component", "long_value", "a value too long for the buffer");
	lstrace_tag_str(&cut, "before", "buffered");
	char value[300];
	memset(value, 'w', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	lstrace_tag_str(&cut, "long", value);
	lstrace_tag_double(&cut, "after", -2.25);
}

int main(int argc, char **argv)
{
	{
		LSTRACE_SPAN(parent, "c_component", "parent", "C parent span");
		lstrace_tag_str(&parent, "lang", "c");
		lstrace_tag_int(&parent, "answer", 42);
		lstrace_tag_double(&parent, "ratio", 0.5);
		lstrace_tag_bool(&parent, "flag", 1);
		struct lstrace_span child;
		lstrace_span_begin(&child, "c_component", "child", "C child span");
		lstrace_span_error(&child, "CError", "child failed");
		lstrace_span_end(&child);
	}
	if (argc > 2 && strcmp(argv[2], "overflow") == 0) {
		many_tags();
		long_value();
	}
	if (argc > 1) {
		FILE *f = fopen(argv[1], "w");
		if (!f)
			return 1;
		fprintf(f, "{\"pid\": %d}\n", (int)getpid());
		fclose(f);
	}
	return 0;
}
