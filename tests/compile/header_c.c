/* The C API compiles as strict C11 with every warning as an error. */
#include <lstrace/lstrace.h>

int lstrace_header_compiles_as_c(void);

int lstrace_header_compiles_as_c(void)
{
	struct lstrace_span span;
	lstrace_span_begin(&span, "compile", "c", "C11 compile test");
	lstrace_tag_str(&span, "s", "v");
	lstrace_tag_int(&span, "i", -1);
	lstrace_tag_double(&span, "d", 0.5);
	lstrace_tag_bool(&span, "b", 1);
	lstrace_span_error(&span, "E", "m");
	lstrace_span_end(&span);
	{
		LSTRACE_SPAN(scoped, "compile", "scoped", "");
		lstrace_tag_int(&scoped, "n", 1);
	}
	return LSTRACE_ENABLED() ? 1 : 0;
}
