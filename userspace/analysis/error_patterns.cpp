#include "analysis/error_patterns.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "base/terminal_text.hpp"
#include "output/trace_format.hpp"

namespace lstrace {
namespace {

bool is_hex(char c)
{
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

bool is_word(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

}  // namespace

std::string mask_message(const std::string& m)
{
    std::string out;
    std::size_t i = 0;
    while (i < m.size()) {
        // a token of hex digits and dashes (ids, UUIDs) at a word start
        if (is_hex(m[i]) && (i == 0 || !is_word(m[i - 1]))) {
            std::size_t j = i;
            bool digit = false, letter = false;
            while (j < m.size() && (is_hex(m[j]) || m[j] == '-')) {
                digit |= std::isdigit(static_cast<unsigned char>(m[j])) != 0;
                letter |= std::isalpha(static_cast<unsigned char>(m[j])) != 0;
                ++j;
            }
            while (j > i && m[j - 1] == '-')
                --j;
            const std::size_t hex_chars =
                static_cast<std::size_t>(std::count_if(m.begin() + i, m.begin() + j, is_hex));
            if (digit && letter && hex_chars >= 8 && (j == m.size() || !is_word(m[j]))) {
                out += "<id>";
                i = j;
                continue;
            }
        }
        if (std::isdigit(static_cast<unsigned char>(m[i]))) {
            std::size_t j = i;
            while (j < m.size() && (std::isdigit(static_cast<unsigned char>(m[j])) ||
                                    (m[j] == '.' && j + 1 < m.size() &&
                                     std::isdigit(static_cast<unsigned char>(m[j + 1])))))
                ++j;
            out += "<n>";
            i = j;
            continue;
        }
        out += m[i++];
    }
    return out;
}

ErrorGroup& ErrorPatterns::group_for(const std::string& type, const std::string& component,
                                     const std::string& message)
{
    const std::string t = type.empty() ? "(unknown)" : type;
    GroupKey key{t, component, mask_message(message)};
    ErrorGroup& g = groups_[key];
    if (g.count == 0 && g.from_spans == 0 && g.from_events == 0) {
        g.error_type = t;
        g.component = component;
        g.message_shape = std::get<2>(key);
        g.example_message = message;
    }
    ++g.count;
    ++total_;
    return g;
}

void ErrorPatterns::add_span(const SpanFacts& s)
{
    // propagation into this span from failed children of other components
    if (auto it = pending_children_.find(s.span_id); it != pending_children_.end()) {
        for (const ChildFailure& c : it->second) {
            if (c.component == s.component)
                continue;
            EdgeKey key{c.component, c.operation, s.component, s.operation, c.error_type};
            PropagationEdge& e = derived_edges_[key];
            std::tie(e.from_component, e.from_operation, e.to_component, e.to_operation,
                     e.error_type) = key;
            ++e.count;
            e.receiver_failed += s.failed;
        }
        pending_children_.erase(it);
    }
    awaiting_retry_.erase(s.span_id);  // its children's retries are over
    if (!s.parent_span_id.empty()) {
        auto prev = awaiting_retry_.find(s.parent_span_id);
        if (prev != awaiting_retry_.end() && prev->second.component == s.component &&
            prev->second.operation == s.operation) {
            auto g = groups_.find(prev->second.group);
            if (g != groups_.end()) {
                RecoveryStats& rs = g->second.derived_recoveries["retry"];
                ++rs.tried;
                rs.succeeded += !s.failed;
            }
            awaiting_retry_.erase(prev);
        }
    }
    if (!s.failed)
        return;
    const std::string type = !s.error_type.empty() ? s.error_type
                             : s.aborted           ? "Aborted"
                                                   : "(unknown)";
    ErrorGroup& g = group_for(type, s.component, s.error_message);
    ++g.from_spans;
    extend_range(g.span_first_us, g.span_last_us, s.start_us);
    ++g.operations[s.operation];
    if (failed_spans_.size() < kMaxRemembered)
        failed_spans_.push_back(FailedSpan{s.span_id, s.parent_span_id, s.error_type,
                                           s.error_message,
                                           GroupKey{g.error_type, g.component, g.message_shape}});
    if (!s.parent_span_id.empty()) {
        pending_children_[s.parent_span_id].push_back({s.component, s.operation, type});
        awaiting_retry_[s.parent_span_id] = FailedSibling{
            s.component, s.operation, GroupKey{g.error_type, g.component, g.message_shape}};
    }
}

ErrorGroup* ErrorPatterns::group_of_error_id(const nlohmann::json& tags)
{
    auto it = error_ids_.find(json_string(tags, "error_id"));
    if (it == error_ids_.end())
        return nullptr;
    auto g = groups_.find(it->second);
    return g == groups_.end() ? nullptr : &g->second;
}

void ErrorPatterns::add_event(const nlohmann::json& r, const std::string& type)
{
    static const nlohmann::json kNone;
    const nlohmann::json& tags = r.contains("tags") ? r["tags"] : kNone;
    const std::int64_t at = parse_timestamp_us(json_string(r, "timestamp")).value_or(0);
    if (type == "error") {
        const std::string component = json_string(r, "component");
        const std::string error_type = json_string(tags, "error_type");
        const std::string message = json_string(tags, "error_message");
        ErrorGroup& g = group_for(error_type, component, message);
        ++g.from_events;
        const std::string operation = json_string(tags, "error_operation");
        if (!operation.empty())
            ++g.operations[operation];
        extend_range(g.event_first_us, g.event_last_us, at);
        const std::string severity = json_string(tags, "severity");
        if (!severity.empty())
            ++g.severities[severity];
        const std::string id = json_string(tags, "error_id");
        if (!id.empty() && error_ids_.size() < kMaxRemembered)
            error_ids_[id] = GroupKey{g.error_type, g.component, g.message_shape};
        const std::string span = json_string(r, "span_id");
        if (!span.empty() && error_events_.size() < kMaxRemembered)
            error_events_.emplace(span, error_type, message);
    } else if (type == "error_recovery") {
        ErrorGroup* g = group_of_error_id(tags);
        recovery_events_ = true;
        RecoveryStats& rs =
            (g ? g : &unmatched_)->event_recoveries[json_string(tags, "recovery_strategy")];
        ++rs.tried;
        rs.succeeded += json_bool(tags, "recovery_success", false);
    } else if (type == "error_handled") {
        ErrorGroup* g = group_of_error_id(tags);
        ++(g ? g : &unmatched_)->handlers[json_string(tags, "handler")];
    } else if (type == "error_resolution") {
        ErrorGroup* g = group_of_error_id(tags);
        ++(g ? g : &unmatched_)->resolutions[json_string(tags, "outcome")];
    } else if (type == "error_propagation") {
        EdgeKey key{json_string(tags, "from_component"), json_string(tags, "from_operation"),
                    json_string(tags, "to_component"), json_string(tags, "to_operation"),
                    json_string(tags, "error_type")};
        PropagationEdge& e = event_edges_[key];
        std::tie(e.from_component, e.from_operation, e.to_component, e.to_operation, e.error_type) =
            key;
        ++e.count;
    }
}

void ErrorPatterns::finish()
{
    for (const FailedSpan& f : failed_spans_) {
        const bool reported =
            (!f.span_id.empty() &&
             error_events_.count({f.span_id, f.error_type, f.error_message})) ||
            (!f.parent_span_id.empty() &&
             error_events_.count({f.parent_span_id, f.error_type, f.error_message}));
        if (!reported)
            continue;
        auto g = groups_.find(f.group);
        if (g != groups_.end() && g->second.from_spans > 0) {
            --g->second.from_spans;
            --g->second.count;
            --total_;
            if (g->second.count == 0)
                groups_.erase(g);
        }
    }
    failed_spans_.clear();
    error_events_.clear();
    pending_children_.clear();
    awaiting_retry_.clear();
    unmatched_.recoveries = unmatched_.event_recoveries;
    for (auto& [key, g] : groups_) {
        g.recoveries = recovery_events_ ? g.event_recoveries : g.derived_recoveries;
        g.first_us = g.last_us = 0;
        if (g.from_spans) {
            extend_range(g.first_us, g.last_us, g.span_first_us);
            extend_range(g.first_us, g.last_us, g.span_last_us);
        }
        if (g.from_events) {
            extend_range(g.first_us, g.last_us, g.event_first_us);
            extend_range(g.first_us, g.last_us, g.event_last_us);
        }
    }
}

std::vector<const ErrorGroup*> ErrorPatterns::groups() const
{
    std::vector<const ErrorGroup*> out;
    for (const auto& [key, g] : groups_)
        out.push_back(&g);
    std::stable_sort(out.begin(), out.end(),
                     [](const ErrorGroup* a, const ErrorGroup* b) { return a->count > b->count; });
    return out;
}

std::vector<const PropagationEdge*> ErrorPatterns::edges() const
{
    const auto& source = event_edges_.empty() ? derived_edges_ : event_edges_;
    std::vector<const PropagationEdge*> out;
    for (const auto& [key, e] : source)
        out.push_back(&e);
    std::stable_sort(
        out.begin(), out.end(),
        [](const PropagationEdge* a, const PropagationEdge* b) { return a->count > b->count; });
    return out;
}

namespace {

nlohmann::json counts_json(const std::map<std::string, std::uint64_t>& m)
{
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : m)
        j[k] = v;
    return j;
}

nlohmann::json recoveries_json(const std::map<std::string, RecoveryStats>& m)
{
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [strategy, r] : m)
        j[strategy] = {{"tried", r.tried},
                       {"succeeded", r.succeeded},
                       {"success_rate", r.tried ? double(r.succeeded) / double(r.tried) : 0.0}};
    return j;
}

bool touches(const PropagationEdge& e, const std::optional<std::string>& component)
{
    return !component || e.from_component == *component || e.to_component == *component;
}

}  // namespace

nlohmann::json ErrorPatterns::to_json(const std::optional<std::string>& component,
                                      double wall_minutes) const
{
    nlohmann::json groups = nlohmann::json::array();
    for (const ErrorGroup* g : this->groups()) {
        if (component && g->component != *component)
            continue;
        groups.push_back({
            {"error_type", g->error_type},
            {"component", g->component},
            {"message_shape", g->message_shape},
            {"example_message", g->example_message},
            {"count", g->count},
            {"from_failed_spans", g->from_spans},
            {"from_error_events", g->from_events},
            {"first_seen",
             g->first_us ? nlohmann::json(format_timestamp(g->first_us * 1000)) : nlohmann::json()},
            {"last_seen",
             g->last_us ? nlohmann::json(format_timestamp(g->last_us * 1000)) : nlohmann::json()},
            {"rate_per_minute", wall_minutes > 0 ? double(g->count) / wall_minutes : 0.0},
            {"operations", counts_json(g->operations)},
            {"severities", counts_json(g->severities)},
            {"recoveries", recoveries_json(g->recoveries)},
            {"handlers", counts_json(g->handlers)},
            {"resolutions", counts_json(g->resolutions)},
        });
    }
    nlohmann::json edges = nlohmann::json::array();
    for (const PropagationEdge* e : this->edges()) {
        if (!touches(*e, component))
            continue;
        nlohmann::json je = {
            {"from_component", e->from_component}, {"from_operation", e->from_operation},
            {"to_component", e->to_component},     {"to_operation", e->to_operation},
            {"error_type", e->error_type},         {"count", e->count}};
        if (!propagation_from_events())
            je["receiver_failed"] = e->receiver_failed;
        edges.push_back(std::move(je));
    }
    nlohmann::json j = {
        {"total", total_},
        {"groups", groups},
        {"propagation", edges},
        {"recoveries_source", recovery_events_ ? "error_recovery events" : "retries seen in spans"},
        {"propagation_source",
         propagation_from_events() ? "error_propagation events" : "failed spans"}};
    if (!component && (!unmatched_.recoveries.empty() || !unmatched_.handlers.empty() ||
                       !unmatched_.resolutions.empty()))
        j["unmatched_error_ids"] = {{"recoveries", recoveries_json(unmatched_.recoveries)},
                                    {"handlers", counts_json(unmatched_.handlers)},
                                    {"resolutions", counts_json(unmatched_.resolutions)}};
    return j;
}

std::string ErrorPatterns::table(const std::optional<std::string>& component,
                                 double wall_minutes) const
{
    std::string out;
    char buf[1024];
    std::snprintf(buf, sizeof(buf), "%6s %-12s %-12s %9s  %-20s %-14s %s\n", "count", "first",
                  "last", "rate/min", "type", "component", "message shape");
    out += buf;
    std::size_t shown = 0;
    for (const ErrorGroup* g : groups()) {
        if (component && g->component != *component)
            continue;
        ++shown;
        std::snprintf(buf, sizeof(buf), "%6llu %-12s %-12s %9.2f  %-20s %-14s %s\n",
                      static_cast<unsigned long long>(g->count), clock_time(g->first_us, 3).c_str(),
                      clock_time(g->last_us, 3).c_str(),
                      wall_minutes > 0 ? double(g->count) / wall_minutes : 0.0,
                      printable(g->error_type).c_str(), printable(g->component).c_str(),
                      printable(g->message_shape).c_str());
        out += buf;
        for (const auto& [strategy, r] : g->recoveries) {
            std::snprintf(
                buf, sizeof(buf), "%6s   recovery %-24s tried %llu, succeeded %llu (%.0f%%)%s\n",
                "", printable(strategy).c_str(), static_cast<unsigned long long>(r.tried),
                static_cast<unsigned long long>(r.succeeded),
                r.tried ? 100.0 * double(r.succeeded) / double(r.tried) : 0.0,
                recovery_events_ ? "" : " (the same operation again under the same parent)");
            out += buf;
        }
        for (const auto& [outcome, n] : g->resolutions) {
            std::snprintf(buf, sizeof(buf), "%6s   resolution %-22s %llu\n", "",
                          printable(outcome).c_str(), static_cast<unsigned long long>(n));
            out += buf;
        }
    }
    if (shown == 0)
        out += "     (no errors)\n";
    bool header = false;
    for (const PropagationEdge* e : edges()) {
        if (!touches(*e, component))
            continue;
        if (!header) {
            out += "propagation (" +
                   std::string(propagation_from_events() ? "error_propagation events"
                                                         : "failed spans into a parent of another "
                                                           "component") +
                   "):\n";
            header = true;
        }
        std::snprintf(buf, sizeof(buf), "%6llu   %s.%s -> %s.%s  %s",
                      static_cast<unsigned long long>(e->count),
                      printable(e->from_component).c_str(), printable(e->from_operation).c_str(),
                      printable(e->to_component).c_str(), printable(e->to_operation).c_str(),
                      printable(e->error_type).c_str());
        out += buf;
        if (!propagation_from_events()) {
            std::snprintf(buf, sizeof(buf), " (receiver failed too: %llu)",
                          static_cast<unsigned long long>(e->receiver_failed));
            out += buf;
        }
        out += "\n";
    }
    return out;
}

}  // namespace lstrace
