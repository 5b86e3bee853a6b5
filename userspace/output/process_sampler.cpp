#include "output/process_sampler.hpp"

#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <sstream>

#include "base/proc_files.hpp"

namespace lstrace {
namespace {

std::uint64_t monotonic_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t ticks_to_ns(std::uint64_t ticks)
{
    static const long hz = ::sysconf(_SC_CLK_TCK);
    return hz > 0 ? ticks * (1000000000ull / static_cast<std::uint64_t>(hz)) : 0;
}

std::optional<std::uint64_t> to_u64(const std::optional<std::string>& s)
{
    if (!s || s->empty())
        return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s->c_str(), &end, 10);
    if (errno != 0 || *end != '\0')
        return std::nullopt;
    return v;
}

// Context switches summed over the live threads.  A thread that exits
// while we list them is skipped: its counts are gone with it.
void add_context_switches(int pid, ProcessSample& s)
{
    const auto tids = list_proc_dir(proc_dir(pid) + "/task");
    if (!tids)
        return;
    for (const std::string& tid : *tids) {
        const auto status = read_proc_file(proc_dir(pid) + "/task/" + tid + "/status");
        if (!status)
            continue;
        s.voluntary_ctxt_switches +=
            to_u64(status_value(*status, "voluntary_ctxt_switches")).value_or(0);
        s.involuntary_ctxt_switches +=
            to_u64(status_value(*status, "nonvoluntary_ctxt_switches")).value_or(0);
    }
}

std::int64_t difference(std::uint64_t after, std::uint64_t before)
{
    return static_cast<std::int64_t>(after) - static_cast<std::int64_t>(before);
}

}  // namespace

std::optional<ProcessSample> sample_process(int pid)
{
    if (pid <= 0)
        return std::nullopt;
    ProcessSample s;
    s.pid = pid;
    s.taken_at_ns = monotonic_ns();
    const auto stat_text = read_proc_file(proc_dir(pid) + "/stat");
    if (!stat_text)
        return std::nullopt;
    const auto stat = StatLine::parse(*stat_text);
    if (!stat || stat->state() == 'Z' || stat->state() == 'X')
        return std::nullopt;
    const auto utime = stat->number(14), stime = stat->number(15), threads = stat->number(20);
    if (!utime || !stime || !threads)
        return std::nullopt;
    s.cpu_time_ns = ticks_to_ns(*utime + *stime);
    s.threads = static_cast<std::uint32_t>(*threads);
    s.minor_faults = stat->number(10).value_or(0);
    s.major_faults = stat->number(12).value_or(0);

    // size resident shared text lib data dt (pages)
    const auto statm = read_proc_file(proc_dir(pid) + "/statm");
    if (!statm)
        return std::nullopt;
    std::istringstream pages(*statm);
    std::uint64_t size = 0, resident = 0;
    if (!(pages >> size >> resident))
        return std::nullopt;
    // An exiting process has released its memory (do_exit's exit_mm) before
    // it turns zombie: its stat still says running, statm says 0.  It is
    // gone as far as a sample goes.
    if (size == 0)
        return std::nullopt;
    s.rss_bytes = resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));

    if (const auto fds = list_proc_dir(proc_dir(pid) + "/fd"))
        s.open_fds = static_cast<std::uint32_t>(fds->size());
    else if (errno != EACCES && errno != EPERM)
        return std::nullopt;  // gone (or turned zombie) since the stat read

    add_context_switches(pid, s);
    return s;
}

SampleDelta sample_delta(const ProcessSample& before, const ProcessSample& after)
{
    SampleDelta d;
    d.interval_ms = static_cast<double>(after.taken_at_ns - before.taken_at_ns) / 1e6;
    d.cpu_time_ms = static_cast<double>(difference(after.cpu_time_ns, before.cpu_time_ns)) / 1e6;
    d.cpu_usage_percent = d.interval_ms > 0 ? 100.0 * d.cpu_time_ms / d.interval_ms : 0.0;
    d.rss_delta_bytes = difference(after.rss_bytes, before.rss_bytes);
    d.voluntary_ctxt_switches =
        difference(after.voluntary_ctxt_switches, before.voluntary_ctxt_switches);
    d.involuntary_ctxt_switches =
        difference(after.involuntary_ctxt_switches, before.involuntary_ctxt_switches);
    // group-wide fault counts only grow; guard against samples passed the wrong way round
    d.minor_faults =
        after.minor_faults >= before.minor_faults ? after.minor_faults - before.minor_faults : 0;
    d.major_faults =
        after.major_faults >= before.major_faults ? after.major_faults - before.major_faults : 0;
    return d;
}

std::vector<Tag> sample_tags(const ProcessSample& now, const SampleDelta& d)
{
    std::vector<Tag> tags = {
        {"interval_ms", d.interval_ms},
        {"cpu_time_ms", d.cpu_time_ms},
        {"cpu_usage", d.cpu_usage_percent},
        {"memory_usage", static_cast<std::int64_t>(now.rss_bytes)},
        {"rss_delta_bytes", d.rss_delta_bytes},
        {"threads", static_cast<std::int64_t>(now.threads)},
    };
    if (now.open_fds)
        tags.push_back({"open_fds", static_cast<std::int64_t>(*now.open_fds)});
    tags.insert(tags.end(), {{"voluntary_ctx_switches", d.voluntary_ctxt_switches},
                             {"involuntary_ctx_switches", d.involuntary_ctxt_switches},
                             {"minor_faults", static_cast<std::int64_t>(d.minor_faults)},
                             {"major_faults", static_cast<std::int64_t>(d.major_faults)}});
    return tags;
}

}  // namespace lstrace
