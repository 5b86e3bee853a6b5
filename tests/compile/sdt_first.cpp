// Must NOT compile: <sys/sdt.h> first, without semaphores, would leave the
// langswarm probes without semaphores (never enabled).  ctest expects the
// compiler to fail on lstrace.h's #error.
#include <sys/sdt.h>

#include <lstrace/lstrace.hpp>

int main()
{
    return lstrace::enabled();
}
