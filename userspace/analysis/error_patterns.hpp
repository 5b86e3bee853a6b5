// Error patterns of a trace: errors grouped by type, component and message
// shape (the message with numbers and ids masked), when they were first
// and last seen, which recoveries were tried and how often they worked, and
// how errors crossed component boundaries.
//
// Two sources, so that traces from before event records still work:
// failed spans (tags.success == false, tags.error_type/error_message) and
// `error` event records.  A failed span whose error was also recorded as an
// `error` event, in that span or its parent, with the same type and
// message, is counted once (the event wins: it has the id that recoveries
// refer to).  Propagation comes from
// `error_propagation` events when the trace has any; otherwise it is
// derived from failed spans whose parent span belongs to another component
// (what the recorder does when it writes those events).  Recoveries come
// from `error_recovery` events likewise; a trace without any gets the
// retries its spans show: a failed span followed, under the same parent, by
// another span of the same operation is a "retry" that succeeded when that
// span did.  Memory: one entry
// per group, per error id and per failed span (at most kMaxRemembered of
// each), not per record.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "analysis/trace_reader.hpp"

namespace lstrace {

// Digits runs become "<n>", hex ids (8+ hex characters with a digit) and
// UUIDs "<id>": "429 ... of 60 requests" -> "<n> ... of <n> requests".
std::string mask_message(const std::string& message);

struct RecoveryStats {
    std::uint64_t tried = 0;
    std::uint64_t succeeded = 0;
};

struct ErrorGroup {
    std::string error_type, component, message_shape;
    std::string example_message;
    std::uint64_t count = 0;
    std::uint64_t from_spans = 0, from_events = 0;
    std::int64_t first_us = 0, last_us = 0;  // over the sources counted (set by finish())
    std::int64_t span_first_us = 0, span_last_us = 0, event_first_us = 0, event_last_us = 0;
    std::map<std::string, std::uint64_t> operations;
    std::map<std::string, std::uint64_t> severities;
    std::map<std::string, RecoveryStats> recoveries;  // by recovery_strategy (after finish())
    std::map<std::string, RecoveryStats> event_recoveries, derived_recoveries;
    std::map<std::string, std::uint64_t> handlers;     // error_handled
    std::map<std::string, std::uint64_t> resolutions;  // error_resolution outcome
};

struct PropagationEdge {
    std::string from_component, from_operation, to_component, to_operation, error_type;
    std::uint64_t count = 0;
    std::uint64_t receiver_failed = 0;  // derived edges only: the parent failed too
};

class ErrorPatterns {
public:
    // Error ids and failed span ids remembered for matching recoveries and
    // removing double counts; past this many, later ones are not matched.
    static constexpr std::size_t kMaxRemembered = 1'000'000;

    void add_span(const SpanFacts& span);
    void add_event(const nlohmann::json& record, const std::string& type);
    // Call once after the last record: removes double counts.
    void finish();

    // Groups, most frequent first.
    std::vector<const ErrorGroup*> groups() const;
    std::vector<const PropagationEdge*> edges() const;
    std::uint64_t total() const noexcept { return total_; }
    bool propagation_from_events() const noexcept { return !event_edges_.empty(); }
    bool recoveries_from_events() const noexcept { return recovery_events_; }

    // `component`: only that component's groups and edges touching it;
    // `wall_minutes` turns counts into rates.
    nlohmann::json to_json(const std::optional<std::string>& component, double wall_minutes) const;
    std::string table(const std::optional<std::string>& component, double wall_minutes) const;

private:
    using GroupKey = std::tuple<std::string, std::string, std::string>;  // type, component, shape
    using EdgeKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;
    struct ChildFailure {
        std::string component, operation, error_type;
    };

    ErrorGroup& group_for(const std::string& type, const std::string& component,
                          const std::string& message);
    ErrorGroup* group_of_error_id(const nlohmann::json& tags);

    std::map<GroupKey, ErrorGroup> groups_;
    std::unordered_map<std::string, GroupKey> error_ids_;
    // A failed span and an `error` event are the same error when the event
    // was recorded in that span or in its parent (the caller that caught
    // it) with the same type and message.
    struct FailedSpan {
        std::string span_id, parent_span_id;
        std::string error_type, error_message;
        GroupKey group;
    };
    std::vector<FailedSpan> failed_spans_;
    std::set<std::tuple<std::string, std::string, std::string>>
        error_events_;  // span, type, message
    std::unordered_map<std::string, std::vector<ChildFailure>> pending_children_;
    // parent span id -> its last failed child, waiting for a retry
    struct FailedSibling {
        std::string component, operation;
        GroupKey group;
    };
    std::unordered_map<std::string, FailedSibling> awaiting_retry_;
    bool recovery_events_ = false;
    std::map<EdgeKey, PropagationEdge> derived_edges_, event_edges_;
    ErrorGroup unmatched_;  // recoveries of error ids never seen
    std::uint64_t total_ = 0;
};

}  // namespace lstrace
