#include "analysis/top_view.hpp"

#include <algorithm>
#include <cstdio>

namespace lstrace {

void TopView::add(const SpanFacts& s)
{
    TopRow& row = interval_[{s.component, s.operation}];
    if (row.spans == 0) {
        row.component = s.component;
        row.operation = s.operation;
    }
    ++row.spans;
    row.failures += s.failed;
    row.total_ms += s.duration_ms;
    row.cpu_ms += s.resources.cpu_ms;
    row.offcpu_ms += s.resources.offcpu_ms;
    row.io_bytes += s.resources.io_bytes();
    row.faults += s.resources.minor_faults + s.resources.major_faults;
    ++spans_total_;
    failures_total_ += s.failed;
}

std::vector<TopRow> TopView::take_interval()
{
    std::vector<TopRow> rows;
    for (auto& [key, row] : interval_)
        rows.push_back(std::move(row));
    interval_.clear();
    std::stable_sort(rows.begin(), rows.end(), [](const TopRow& a, const TopRow& b) {
        return a.cpu_ms + a.offcpu_ms > b.cpu_ms + b.offcpu_ms;
    });
    return rows;
}

std::string TopView::frame(const std::string& target, double elapsed_s, double interval_s,
                           std::size_t max_rows)
{
    static const char kSpinner[] = "|/-\\";
    const std::vector<TopRow> rows = take_interval();
    std::uint64_t interval_spans = 0;
    for (const TopRow& r : rows)
        interval_spans += r.spans;
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  "lstrace-bpf top %c recording %s for %.1f s: %llu spans (%.0f/s in the last "
                  "%.1f s), %llu failed\n",
                  kSpinner[frames_++ % 4], target.c_str(), elapsed_s,
                  static_cast<unsigned long long>(spans_total_),
                  interval_s > 0 ? double(interval_spans) / interval_s : 0.0, interval_s,
                  static_cast<unsigned long long>(failures_total_));
    out += buf;
    const auto leader = [&](auto key) -> std::string {
        const TopRow* best = nullptr;
        for (const TopRow& r : rows)
            if (key(r) > 0 && (!best || key(r) > key(*best)))
                best = &r;
        return best ? best->component + "." + best->operation : "-";
    };
    out += "busiest by CPU: " + leader([](const TopRow& r) { return r.cpu_ms; }) +
           "   off-CPU: " + leader([](const TopRow& r) { return r.offcpu_ms; }) +
           "   I/O: " + leader([](const TopRow& r) { return double(r.io_bytes); }) + "\n";
    std::snprintf(buf, sizeof(buf), "%-36s %7s %5s %10s %10s %11s %10s %8s\n",
                  "component.operation", "spans", "fail", "total ms", "cpu ms", "off-cpu ms", "I/O",
                  "faults");
    out += buf;
    for (std::size_t i = 0; i < rows.size() && i < max_rows; ++i) {
        const TopRow& r = rows[i];
        const std::string name = clip(r.component + "." + r.operation, 36);
        std::snprintf(buf, sizeof(buf), "%-36s %7llu %5llu %10.1f %10.1f %11.1f %10s %8llu\n",
                      name.c_str(), static_cast<unsigned long long>(r.spans),
                      static_cast<unsigned long long>(r.failures), r.total_ms, r.cpu_ms,
                      r.offcpu_ms, human_bytes(double(r.io_bytes)).c_str(),
                      static_cast<unsigned long long>(r.faults));
        out += buf;
    }
    if (rows.empty())
        out += "(no span ended in this interval)\n";
    else if (rows.size() > max_rows)
        out += "... " + std::to_string(rows.size() - max_rows) + " more operations\n";
    return out;
}

}  // namespace lstrace
