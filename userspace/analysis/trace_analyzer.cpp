#include "analysis/trace_analyzer.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>

#include "base/hex_id.hpp"
#include "base/terminal_text.hpp"
#include "output/trace_format.hpp"

namespace lstrace {
namespace {

constexpr int kMaxPathDepth = 10000;

std::uint64_t parse_span_id(const std::string& hex)
{
    return hex.empty() ? 0 : std::strtoull(hex.c_str(), nullptr, 16);
}

bool self_time_less(const SelfTimeSpan& a, const SelfTimeSpan& b)
{
    return a.self_ms > b.self_ms;  // for a min-heap on self_ms
}

// Longer first; of equal length, the one that ended first (a min-heap with
// this order keeps the longest, earliest paths).
bool path_before(const CriticalPath& a, const CriticalPath& b)
{
    return a.duration_ms != b.duration_ms ? a.duration_ms > b.duration_ms : a.order < b.order;
}

// The backward walk of a trace (see the design comment in the header).
class PathWalker {
public:
    struct Span {
        std::uint64_t id;
        std::int64_t start_us, end_us;
    };
    PathWalker(const std::vector<Span>& spans,
               const std::unordered_map<std::uint64_t, std::vector<std::size_t>>& children)
        : spans_(spans), children_(children)
    {}

    // (span index, microseconds) in path order, one entry per span.
    std::vector<std::pair<std::size_t, std::int64_t>> walk(std::size_t root)
    {
        walk(root, spans_[root].end_us, 0);
        std::reverse(pieces_.begin(), pieces_.end());
        std::vector<std::pair<std::size_t, std::int64_t>> merged;
        std::unordered_map<std::size_t, std::size_t> at;
        for (const auto& [i, us] : pieces_) {
            auto [it, fresh] = at.emplace(i, merged.size());
            if (fresh)
                merged.emplace_back(i, us);
            else
                merged[it->second].second += us;
        }
        return merged;
    }

private:
    void piece(std::size_t i, std::int64_t us)
    {
        if (us > 0)
            pieces_.emplace_back(i, us);
    }

    void walk(std::size_t i, std::int64_t cursor, int depth)
    {
        const Span& s = spans_[i];
        cursor = std::min(cursor, s.end_us);
        auto kids = children_.find(s.id);
        if (kids != children_.end() && depth < kMaxPathDepth) {
            for (std::size_t c : kids->second) {  // latest end first
                const Span& child = spans_[c];
                if (cursor <= s.start_us)
                    break;
                if (child.start_us >= cursor)
                    continue;  // hidden behind a child already on the path
                const std::int64_t child_end = std::min(child.end_us, cursor);
                piece(i, cursor - child_end);
                walk(c, child_end, depth + 1);
                cursor = std::max(child.start_us, s.start_us);
            }
        }
        piece(i, cursor - s.start_us);
    }

    const std::vector<Span>& spans_;
    const std::unordered_map<std::uint64_t, std::vector<std::size_t>>& children_;
    std::vector<std::pair<std::size_t, std::int64_t>> pieces_;  // in reverse time order
};

}  // namespace

std::string dominant_resource(const OperationProfile& op)
{
    if (op.with_resources == 0)
        return "unknown";
    if (op.cpu_ms >= op.offcpu_ms) {
        const double cpu = std::max(op.cpu_ms, 1e-3);
        if (double(op.minor_faults + op.major_faults) / cpu >= 100.0)
            return "page faults";
        if (double(op.io_bytes) / cpu >= 100.0 * 1024)
            return "I/O bytes";
        return "on-CPU";
    }
    const double off = std::max(op.offcpu_ms, 1e-3);
    if (op.has_io_wait ? op.io_wait_ms >= off / 2 : double(op.storage_bytes) / off >= 10.0 * 1024)
        return "I/O wait";
    return "off-CPU waiting";
}

std::uint32_t TraceAnalyzer::op_index(const std::string& component, const std::string& operation)
{
    auto [it, fresh] = ops_.try_emplace({component, operation});
    OperationProfile& op = it->second;
    if (fresh) {
        op.component = component;
        op.operation = operation;
        op.index = static_cast<std::uint32_t>(op_by_index_.size());
        op_by_index_.push_back(&op);
    }
    return op.index;
}

void TraceAnalyzer::add(const TraceLine& line)
{
    if (line.kind == RecordKind::span)
        add_span(line.json);
    else
        add_event(line.json, line.record_type);
}

void TraceAnalyzer::add_file(const std::string& path)
{
    read_trace_file(path, [this](const TraceLine& line) { add(line); });
    finish();
}

void TraceAnalyzer::note_self_time(const SpanFacts& s, double self_ms)
{
    if (limits_.top_spans == 0 ||
        (top_self_.size() == limits_.top_spans && self_ms <= top_self_.front().self_ms))
        return;
    top_self_.push_back(SelfTimeSpan{self_ms, s.duration_ms, s.span_id, s.trace_id, s.component,
                                     s.operation, s.description, s.start_us});
    std::push_heap(top_self_.begin(), top_self_.end(), self_time_less);
    if (top_self_.size() > limits_.top_spans) {
        std::pop_heap(top_self_.begin(), top_self_.end(), self_time_less);
        top_self_.pop_back();
    }
}

void TraceAnalyzer::add_span(const nlohmann::json& record)
{
    const SpanFacts s = span_facts(record);
    ++spans_;
    if (s.start_us) {
        extend_range(first_us_, last_us_, s.start_us);
        extend_range(first_us_, last_us_, s.end_us());
    }
    const std::uint32_t index = op_index(s.component, s.operation);
    OperationProfile& op = *op_by_index_[index];
    ++op.spans;
    op.failures += s.failed;
    op.aborted += s.aborted;
    op.durations.add(s.duration_ms);
    op.total_ms += s.duration_ms;
    if (s.resources.present) {
        const SpanResources& r = s.resources;
        ++op.with_resources;
        op.cpu_ms += r.cpu_ms;
        op.offcpu_ms += r.offcpu_ms;
        if (r.io_wait_ms) {
            op.has_io_wait = true;
            op.io_wait_ms += *r.io_wait_ms;
        }
        op.io_bytes += r.io_bytes();
        op.storage_bytes += r.storage_read_bytes + r.storage_write_bytes;
        op.minor_faults += r.minor_faults;
        op.major_faults += r.major_faults;
        op.rss_delta_bytes += r.rss_delta_bytes;
    }

    double children_ms = 0;
    if (auto it = child_ms_.find(s.span_id); it != child_ms_.end()) {
        children_ms = it->second;
        child_ms_.erase(it);
    }
    const double self_ms = std::max(0.0, s.duration_ms - children_ms);
    op.self_ms += self_ms;
    note_self_time(s, self_ms);
    if (!s.parent_span_id.empty())
        child_ms_[s.parent_span_id] += s.duration_ms;

    errors_.add_span(s);

    if (!s.trace_id.empty() && !s.span_id.empty()) {
        OpenTrace& t = open_traces_[s.trace_id];
        if (buffered_ >= kMaxBufferedSpans)
            t.overflow = true;
        if (!t.overflow) {
            t.spans.push_back(BufferedSpan{parse_span_id(s.span_id),
                                           parse_span_id(s.parent_span_id), s.start_us, s.end_us(),
                                           index});
            ++buffered_;
        }
        if (s.parent_span_id.empty()) {
            close_trace(s.trace_id, t, t.overflow ? nullptr : &t.spans.back(), s.description);
            open_traces_.erase(s.trace_id);
        }
    }

    if (component_ && s.component == *component_) {
        static const nlohmann::json kNone;
        const nlohmann::json& tags = record.contains("tags") ? record["tags"] : kNone;
        const std::string from = json_string(tags, "from_state"),
                          to = json_string(tags, "to_state");
        if (!from.empty() || !to.empty()) {  // a state change recorded as a span (older traces)
            std::string subject = json_string(tags, "agent");
            ++state_changes_total_;
            ++transitions_[from + " -> " + to];
            if (state_changes_.size() < kMaxListed)
                state_changes_.push_back(
                    StateChange{s.start_us, subject, from, to, json_string(tags, "reason")});
        }
    }
}

void TraceAnalyzer::close_trace(const std::string& trace_id, OpenTrace& trace,
                                const BufferedSpan* root, const std::string& root_description)
{
    ++traces_;
    if (!root) {
        ++paths_skipped_;
        buffered_ -= trace.spans.size();
        return;
    }
    std::vector<PathWalker::Span> spans;
    spans.reserve(trace.spans.size());
    std::unordered_map<std::uint64_t, std::vector<std::size_t>> children;
    std::size_t root_index = 0;
    for (std::size_t i = 0; i < trace.spans.size(); ++i) {
        const BufferedSpan& b = trace.spans[i];
        spans.push_back({b.id, b.start_us, b.end_us});
        if (&b == root)
            root_index = i;
        else
            children[b.parent].push_back(i);
    }
    for (auto& [parent, kids] : children)
        std::sort(kids.begin(), kids.end(),
                  [&](std::size_t a, std::size_t b) { return spans[a].end_us > spans[b].end_us; });
    const auto path = PathWalker(spans, children).walk(root_index);

    const double duration_ms = double(root->end_us - root->start_us) / 1000.0;
    const std::uint64_t order = paths_seen_++;
    const bool keep = limits_.top_traces > 0 && (paths_.size() < limits_.top_traces ||
                                                 duration_ms > paths_.front().duration_ms);
    CriticalPath cp;
    if (keep) {
        cp.order = order;
        cp.trace_id = trace_id;
        cp.root_component = op_by_index_[root->op]->component;
        cp.root_operation = op_by_index_[root->op]->operation;
        cp.root_description = root_description;
        cp.duration_ms = duration_ms;
        cp.spans_in_trace = trace.spans.size();
    }
    for (const auto& [i, us] : path) {
        const BufferedSpan& b = trace.spans[i];
        OperationProfile& op = *op_by_index_[b.op];
        op.critical_ms += double(us) / 1000.0;
        if (keep)
            cp.segments.push_back(
                PathSegment{hex_id(b.id), op.component, op.operation, double(us) / 1000.0});
    }
    buffered_ -= trace.spans.size();
    if (!keep)
        return;
    paths_.push_back(std::move(cp));
    std::push_heap(paths_.begin(), paths_.end(), path_before);
    if (paths_.size() > limits_.top_traces) {
        std::pop_heap(paths_.begin(), paths_.end(), path_before);
        paths_.pop_back();
    }
}

void TraceAnalyzer::add_event(const nlohmann::json& r, const std::string& type)
{
    ++events_;
    ++event_types_[type];
    extend_range(first_us_, last_us_, parse_timestamp_us(json_string(r, "timestamp")).value_or(0));
    if (type.rfind("error", 0) == 0)
        errors_.add_event(r, type);
    if (!component_ || json_string(r, "component") != *component_)
        return;
    static const nlohmann::json kNone;
    const nlohmann::json& tags = r.contains("tags") ? r["tags"] : kNone;
    if (type == "state_change") {
        const std::string from = json_string(tags, "from_state"),
                          to = json_string(tags, "to_state");
        ++state_changes_total_;
        ++transitions_[from + " -> " + to];
        if (state_changes_.size() < kMaxListed)
            state_changes_.push_back(
                StateChange{parse_timestamp_us(json_string(r, "timestamp")).value_or(0),
                            json_string(tags, "agent"), from, to, json_string(tags, "reason")});
    } else if (type == "component_init" || type == "config_change") {
        ++config_events_total_;
        if (config_events_.size() < kMaxListed)
            config_events_.push_back(
                {{"timestamp", json_string(r, "timestamp")}, {"type", type}, {"tags", tags}});
    } else if (type == "data_flow") {
        const bool in = json_string(tags, "direction") == "input";
        (in ? flow_in_ : flow_out_) += 1;
        (in ? flow_in_bytes_ : flow_out_bytes_) += json_counter(tags, "size_bytes");
    }
}

void TraceAnalyzer::finish()
{
    // Traces whose root never ended (recording stopped first, or its end
    // was lost): their longest parentless span stands in for the root.
    for (auto& [trace_id, t] : open_traces_) {
        std::unordered_map<std::uint64_t, bool> present;
        for (const BufferedSpan& b : t.spans)
            present[b.id] = true;
        const BufferedSpan* root = nullptr;
        for (const BufferedSpan& b : t.spans)
            if (!present.count(b.parent) &&
                (!root || b.end_us - b.start_us > root->end_us - root->start_us))
                root = &b;
        close_trace(trace_id, t, t.overflow ? nullptr : root, "(root span not recorded)");
    }
    open_traces_.clear();
    child_ms_.clear();
    errors_.finish();
}

double TraceAnalyzer::wall_ms() const noexcept
{
    return last_us_ > first_us_ ? double(last_us_ - first_us_) / 1000.0 : 0.0;
}

std::vector<const OperationProfile*> TraceAnalyzer::operations() const
{
    std::vector<const OperationProfile*> out;
    for (const auto& [key, op] : ops_)
        if (op.spans && (!component_ || op.component == *component_))
            out.push_back(&op);
    std::stable_sort(out.begin(), out.end(),
                     [](const OperationProfile* a, const OperationProfile* b) {
                         return a->total_ms > b->total_ms;
                     });
    return out;
}

std::vector<CriticalPath> TraceAnalyzer::critical_paths() const
{
    std::vector<CriticalPath> out = paths_;
    std::sort(out.begin(), out.end(), path_before);
    return out;
}

std::vector<SelfTimeSpan> TraceAnalyzer::top_self_time() const
{
    std::vector<SelfTimeSpan> out = top_self_;
    std::sort(out.begin(), out.end(), self_time_less);
    return out;
}

// Each section is rendered twice, as JSON and as text, from the same members;
// to_json() and text() put the sections in order.

nlohmann::json TraceAnalyzer::input_json() const
{
    const auto timestamp = [](std::int64_t us) {
        return us ? nlohmann::json(format_timestamp(us * 1000)) : nlohmann::json();
    };
    return {{"span_records", spans_},
            {"event_records", events_},
            {"event_types", event_types_},
            {"traces", traces_},
            {"wall_ms", wall_ms()},
            {"first_timestamp", timestamp(first_us_)},
            {"last_timestamp", timestamp(last_us_)}};
}

std::string TraceAnalyzer::input_text() const
{
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "%llu span records, %llu event records, %llu traces, wall time %.1f ms\n",
                  static_cast<unsigned long long>(spans_), static_cast<unsigned long long>(events_),
                  static_cast<unsigned long long>(traces_), wall_ms());
    return buf;
}

nlohmann::json TraceAnalyzer::operations_json() const
{
    const double wall = wall_ms();
    nlohmann::json ops = nlohmann::json::array();
    for (const OperationProfile* op : operations()) {
        const double n = double(op->spans);
        ops.push_back({
            {"component", op->component},
            {"operation", op->operation},
            {"count", op->spans},
            {"failures", op->failures},
            {"aborted", op->aborted},
            {"p50_ms", op->durations.quantile(50)},
            {"p95_ms", op->durations.quantile(95)},
            {"p99_ms", op->durations.quantile(99)},
            {"max_ms", op->durations.max()},
            {"quantiles_exact", op->durations.exact()},
            {"total_ms", op->total_ms},
            {"wall_share", wall > 0 ? op->total_ms / wall : 0.0},
            {"self_ms", op->self_ms},
            {"critical_path_ms", op->critical_ms},
            {"dominant_resource", dominant_resource(*op)},
            {"resources",
             {{"spans_with_resources", op->with_resources},
              {"cpu_ms", op->cpu_ms},
              {"offcpu_ms", op->offcpu_ms},
              {"io_wait_ms", op->has_io_wait ? nlohmann::json(op->io_wait_ms) : nlohmann::json()},
              {"io_bytes", op->io_bytes},
              {"storage_bytes", op->storage_bytes},
              {"minor_faults", op->minor_faults},
              {"major_faults", op->major_faults},
              {"rss_delta_bytes", op->rss_delta_bytes},
              {"cpu_ms_per_span", op->cpu_ms / n},
              {"offcpu_ms_per_span", op->offcpu_ms / n}}},
        });
    }
    return ops;
}

std::string TraceAnalyzer::operations_text() const
{
    const double wall = wall_ms();
    std::string out = component_ ? "\nOPERATIONS OF " + *component_ + "\n"
                                 : "\nBOTTLENECKS (busiest first; share = total / wall time)\n";
    char buf[1024];
    std::snprintf(buf, sizeof(buf), "%-32s %6s %4s %8s %8s %8s %8s %9s %6s %9s %9s  %s\n",
                  "component.operation", "count", "fail", "p50 ms", "p95 ms", "p99 ms", "max ms",
                  "total ms", "share", "self ms", "crit ms", "dominated by");
    out += buf;
    for (const OperationProfile* op : operations()) {
        const double share = wall > 0 ? 100.0 * op->total_ms / wall : 0.0;
        char share_text[16];
        std::snprintf(share_text, sizeof(share_text), share < 1000 ? "%5.1f%%" : ">999%%", share);
        std::snprintf(buf, sizeof(buf),
                      "%-32s %6llu %4llu %8.2f %8.2f %8.2f %8.2f %9.1f %6s %9.1f %9.1f  %s\n",
                      clip(op->component + "." + op->operation, 32).c_str(),
                      static_cast<unsigned long long>(op->spans),
                      static_cast<unsigned long long>(op->failures), op->durations.quantile(50),
                      op->durations.quantile(95), op->durations.quantile(99), op->durations.max(),
                      op->total_ms, share_text, op->self_ms, op->critical_ms,
                      dominant_resource(*op).c_str());
        out += buf;
    }
    return out;
}

nlohmann::json TraceAnalyzer::component_json() const
{
    nlohmann::json changes = nlohmann::json::array();
    for (const StateChange& c : state_changes_)
        changes.push_back({{"timestamp", c.at_us ? nlohmann::json(format_timestamp(c.at_us * 1000))
                                                 : nlohmann::json()},
                           {"subject", c.subject},
                           {"from_state", c.from},
                           {"to_state", c.to},
                           {"reason", c.reason}});
    return {
        {"component", *component_},
        {"state_changes",
         {{"total", state_changes_total_}, {"transitions", transitions_}, {"listed", changes}}},
        {"configuration", {{"total", config_events_total_}, {"listed", config_events_}}},
        {"data_flow",
         {{"inputs", flow_in_},
          {"input_bytes", flow_in_bytes_},
          {"outputs", flow_out_},
          {"output_bytes", flow_out_bytes_}}},
    };
}

std::string TraceAnalyzer::component_text() const
{
    std::string out = "\nRESOURCE PROFILE (per span)\n";
    char buf[1024];
    std::snprintf(buf, sizeof(buf), "%-32s %9s %10s %10s %10s %10s %10s\n", "operation", "cpu ms",
                  "off-cpu ms", "io wait ms", "I/O", "faults", "rss delta");
    out += buf;
    for (const OperationProfile* op : operations()) {
        const double n = double(op->spans);
        char io_wait[32] = "-";
        if (op->has_io_wait)
            std::snprintf(io_wait, sizeof(io_wait), "%.2f", op->io_wait_ms / n);
        std::snprintf(buf, sizeof(buf), "%-32s %9.2f %10.2f %10s %10s %10.1f %10s\n",
                      clip(op->operation, 32).c_str(), op->cpu_ms / n, op->offcpu_ms / n, io_wait,
                      human_bytes(double(op->io_bytes) / n).c_str(),
                      double(op->minor_faults + op->major_faults) / n,
                      human_bytes(double(op->rss_delta_bytes) / n).c_str());
        out += buf;
    }
    std::snprintf(buf, sizeof(buf), "\nSTATE CHANGES (%llu)\n",
                  static_cast<unsigned long long>(state_changes_total_));
    out += buf;
    for (const auto& [transition, n] : transitions_) {
        std::snprintf(buf, sizeof(buf), "%6llu  %s\n", static_cast<unsigned long long>(n),
                      printable(transition).c_str());
        out += buf;
    }
    const std::size_t listed = std::min<std::size_t>(state_changes_.size(), 30);
    for (std::size_t i = 0; i < listed; ++i) {
        const StateChange& c = state_changes_[i];
        std::snprintf(buf, sizeof(buf), "  %s  %-10s %s -> %s%s%s\n",
                      clock_time(c.at_us, 6).c_str(), printable(c.subject).c_str(),
                      printable(c.from).c_str(), printable(c.to).c_str(),
                      c.reason.empty() ? "" : "  ", printable(c.reason).c_str());
        out += buf;
    }
    if (state_changes_total_ > listed)
        out += "  ... (--json lists up to " + std::to_string(kMaxListed) + ")\n";
    if (config_events_total_) {
        out += "\nCONFIGURATION (" + std::to_string(config_events_total_) + ")\n";
        for (const nlohmann::json& c : config_events_)
            out += "  " + printable(c["timestamp"].get<std::string>()) + "  " +
                   printable(c["type"].get<std::string>()) + "  " + printable(c["tags"].dump()) +
                   "\n";
    }
    if (flow_in_ || flow_out_) {
        std::snprintf(buf, sizeof(buf), "\nDATA FLOW  in: %llu (%s)  out: %llu (%s)\n",
                      static_cast<unsigned long long>(flow_in_),
                      human_bytes(double(flow_in_bytes_)).c_str(),
                      static_cast<unsigned long long>(flow_out_),
                      human_bytes(double(flow_out_bytes_)).c_str());
        out += buf;
    }
    return out;
}

nlohmann::json TraceAnalyzer::critical_paths_json() const
{
    nlohmann::json paths = nlohmann::json::array();
    for (const CriticalPath& p : critical_paths()) {
        nlohmann::json segs = nlohmann::json::array();
        for (const PathSegment& s : p.segments)
            segs.push_back({{"span_id", s.span_id},
                            {"component", s.component},
                            {"operation", s.operation},
                            {"ms", s.ms}});
        paths.push_back({{"trace_id", p.trace_id},
                         {"root", p.root_component + "." + p.root_operation},
                         {"description", p.root_description},
                         {"duration_ms", p.duration_ms},
                         {"spans_in_trace", p.spans_in_trace},
                         {"path", segs}});
    }
    return paths;
}

std::string TraceAnalyzer::critical_paths_text() const
{
    std::string out = "\nCRITICAL PATHS (longest traces; time each span itself decided)\n";
    char buf[1024];
    for (const CriticalPath& p : critical_paths()) {
        std::snprintf(buf, sizeof(buf), "trace %s  %s.%s  %.1f ms, %zu spans, %zu on the path\n",
                      printable(p.trace_id).c_str(), printable(p.root_component).c_str(),
                      printable(p.root_operation).c_str(), p.duration_ms, p.spans_in_trace,
                      p.segments.size());
        out += buf;
        // the path's heaviest spans, in path order
        std::vector<const PathSegment*> heavy;
        for (const PathSegment& s : p.segments)
            heavy.push_back(&s);
        std::stable_sort(heavy.begin(), heavy.end(),
                         [](const PathSegment* a, const PathSegment* b) { return a->ms > b->ms; });
        if (heavy.size() > 8)
            heavy.resize(8);
        for (const PathSegment& s : p.segments) {
            if (std::find(heavy.begin(), heavy.end(), &s) == heavy.end())
                continue;
            std::snprintf(buf, sizeof(buf), "   %9.2f ms %5.1f%%  %s.%s  %s\n", s.ms,
                          p.duration_ms > 0 ? 100.0 * s.ms / p.duration_ms : 0.0,
                          printable(s.component).c_str(), printable(s.operation).c_str(),
                          printable(s.span_id).c_str());
            out += buf;
        }
        if (p.segments.size() > heavy.size())
            out += "   ... " + std::to_string(p.segments.size() - heavy.size()) +
                   " more spans on the path (--json has all)\n";
    }
    if (paths_skipped_)
        out += "(" + std::to_string(paths_skipped_) +
               " traces too large to hold for a critical path)\n";
    return out;
}

nlohmann::json TraceAnalyzer::self_time_json() const
{
    nlohmann::json selfs = nlohmann::json::array();
    for (const SelfTimeSpan& s : top_self_time())
        selfs.push_back({{"span_id", s.span_id},
                         {"trace_id", s.trace_id},
                         {"component", s.component},
                         {"operation", s.operation},
                         {"description", s.description},
                         {"self_ms", s.self_ms},
                         {"duration_ms", s.duration_ms}});
    return selfs;
}

std::string TraceAnalyzer::self_time_text() const
{
    std::string out = "\nLARGEST SELF TIME (duration minus children)\n";
    char buf[1024];
    std::snprintf(buf, sizeof(buf), "%9s %9s  %-32s %-16s %s\n", "self ms", "total ms",
                  "component.operation", "span", "description");
    out += buf;
    for (const SelfTimeSpan& s : top_self_time()) {
        std::snprintf(buf, sizeof(buf), "%9.2f %9.2f  %-32s %-16s %s\n", s.self_ms, s.duration_ms,
                      clip(s.component + "." + s.operation, 32).c_str(),
                      printable(s.span_id).c_str(), clip(s.description, 60).c_str());
        out += buf;
    }
    return out;
}

nlohmann::json TraceAnalyzer::to_json() const
{
    const double wall_minutes = wall_ms() / 60000.0;
    nlohmann::json out = {{"input", input_json()}, {"bottlenecks", operations_json()}};
    if (component_) {
        out["component_report"] = component_json();
        out["errors"] = errors_.to_json(component_, wall_minutes);
        return out;
    }
    out["critical_paths"] = critical_paths_json();
    out["critical_paths_skipped"] = paths_skipped_;
    out["top_self_time"] = self_time_json();
    out["errors"] = errors_.to_json(std::nullopt, wall_minutes);
    return out;
}

std::string TraceAnalyzer::text() const
{
    const double wall_minutes = wall_ms() / 60000.0;
    std::string out = input_text() + operations_text();
    if (component_)
        return out + component_text() + "\nERRORS\n" + errors_.table(component_, wall_minutes);
    out += critical_paths_text() + self_time_text();
    out += "\nERROR PATTERNS (" + std::to_string(errors_.total()) + " errors)\n";
    return out + errors_.table(std::nullopt, wall_minutes);
}

}  // namespace lstrace
