/* The C API recorded for real: a scoped parent span with tags of every
 * type and a failed child span.  Writes its pid as ground truth. */
#include <stdio.h>
#include <unistd.h>

#include <lstrace/lstrace.h>

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
	if (argc > 1) {
		FILE *f = fopen(argv[1], "w");
		if (!f)
			return 1;
		fprintf(f, "{\"pid\": %d}\n", (int)getpid());
		fclose(f);
	}
	return 0;
}
