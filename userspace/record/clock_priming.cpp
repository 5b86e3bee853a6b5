#include "record/clock_priming.hpp"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <thread>
#include <vector>

namespace lstrace {

void prime_sched_clock_offsets(int switches_per_cpu)
{
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
        return;  // the figures then start with the CPUs' own switches
    std::vector<std::thread> threads;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &allowed))
            continue;
        threads.emplace_back([cpu, switches_per_cpu] {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            if (pthread_setaffinity_np(pthread_self(), sizeof(one), &one) != 0)
                return;
            // each sleep switches out and back in: two events on this CPU
            const timespec brief{0, 1000};
            for (int i = 0; i < switches_per_cpu / 2; ++i)
                nanosleep(&brief, nullptr);
        });
    }
    for (std::thread& t : threads)
        t.join();
}

}  // namespace lstrace
