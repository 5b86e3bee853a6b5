// The correlator's event records: component, error and data-flow probe
// hits (POINT events) become EventRecords linked to the span current on
// their thread, and a failed span whose parent is another component's
// becomes an error_propagation record.
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "base/hex_id.hpp"
#include "correlate/correlator.hpp"
#include "lstrace/probe_abi.h"

namespace lstrace {
namespace {

std::string str_field(const lstrace_point_event& e, lstrace_point_str i)
{
    return std::string(e.str[i], strnlen(e.str[i], sizeof(e.str[i])));
}

void add(EventRecord& r, std::string key, TagValue value)
{
    r.tags.push_back(Tag{std::move(key), std::move(value)});
}

// String i of the event as tag `key`; an empty optional string is no tag.
void add_str(EventRecord& r, const char* key, const lstrace_point_event& e, lstrace_point_str i,
             bool optional = false)
{
    if (!optional || e.str[i][0])
        add(r, key, str_field(e, i));
}

// The error probe's context: "key=value" pairs separated by the ASCII
// unit separator (see docs/probes.md), each becoming a context_<key> tag.
void add_context(EventRecord& r, const std::string& context)
{
    std::size_t pos = 0;
    while (pos < context.size()) {
        std::size_t end = context.find(LSTRACE_CONTEXT_SEPARATOR, pos);
        if (end == std::string::npos)
            end = context.size();
        const std::string pair = context.substr(pos, end - pos);
        const std::size_t eq = pair.find('=');
        if (eq != std::string::npos && eq > 0)
            add(r, "context_" + pair.substr(0, eq), pair.substr(eq + 1));
        else if (!pair.empty())
            add(r, "context_" + pair, std::string());
        pos = end + 1;
    }
}

// A data-flow probe's figures, keys prefixed with "input_" / "output_" in a
// transformation (the standard's names), bare in a data_flow record.
void add_data(EventRecord& r, const lstrace_point_event& e, const std::string& prefix)
{
    add(r, prefix.empty() ? "data_type" : prefix + "type", str_field(e, LSTRACE_STR_DATA_TYPE));
    add(r, prefix + "size_bytes", static_cast<std::int64_t>(e.num[LSTRACE_NUM_SIZE_BYTES]));
    if (e.num[LSTRACE_NUM_LENGTH] >= 0)
        add(r, prefix + "length", static_cast<std::int64_t>(e.num[LSTRACE_NUM_LENGTH]));
    if (e.str[LSTRACE_STR_DATA_KEYS][0])
        add(r, prefix + "keys", str_field(e, LSTRACE_STR_DATA_KEYS));
    if (e.str[LSTRACE_STR_DATA_PREVIEW][0])
        add(r, prefix + "preview", str_field(e, LSTRACE_STR_DATA_PREVIEW));
    char fp[17];
    std::snprintf(fp, sizeof(fp), "%016" PRIx64,
                  static_cast<std::uint64_t>(e.num[LSTRACE_NUM_FINGERPRINT]));
    add(r, prefix + "fingerprint", std::string(fp));
}

std::int64_t tag_int(const EventRecord& r, const std::string& key)
{
    for (const Tag& t : r.tags)
        if (t.key == key)
            if (const auto* v = std::get_if<std::int64_t>(&t.value))
                return *v;
    return 0;
}

// One function per point kind: the record's type, description and tags.
// `span` is the span current on the event's thread, if known.
using PointFiller = void (*)(EventRecord& r, const lstrace_point_event& e, const SpanRecord* span);

void component_init(EventRecord& r, const lstrace_point_event& e, const SpanRecord*)
{
    r.component = str_field(e, LSTRACE_STR_COMPONENT);
    r.description = "Initializing " + r.component;
    add_str(r, "config_keys", e, LSTRACE_STR_CONFIG_KEYS);
    add(r, "config_size", static_cast<std::int64_t>(e.num[LSTRACE_NUM_CONFIG_SIZE]));
}

void state_change(EventRecord& r, const lstrace_point_event& e, const SpanRecord*)
{
    r.component = str_field(e, LSTRACE_STR_COMPONENT);
    r.description = "State change: " + str_field(e, LSTRACE_STR_FROM_STATE) + " \u2192 " +
                    str_field(e, LSTRACE_STR_TO_STATE);
    add_str(r, "from_state", e, LSTRACE_STR_FROM_STATE);
    add_str(r, "to_state", e, LSTRACE_STR_TO_STATE);
    add_str(r, "reason", e, LSTRACE_STR_REASON, true);
}

void config_change(EventRecord& r, const lstrace_point_event& e, const SpanRecord*)
{
    r.component = str_field(e, LSTRACE_STR_COMPONENT);
    r.description = "Configuration change: " + str_field(e, LSTRACE_STR_KEY);
    add_str(r, "key", e, LSTRACE_STR_KEY);
    add_str(r, "old_value", e, LSTRACE_STR_OLD_VALUE);
    add_str(r, "new_value", e, LSTRACE_STR_NEW_VALUE);
}

void error_id_tag(EventRecord& r, const lstrace_point_event& e)
{
    add(r, "error_id", hex_id(static_cast<std::uint64_t>(e.num[LSTRACE_NUM_ERROR_ID])));
}

void error(EventRecord& r, const lstrace_point_event& e, const SpanRecord* span)
{
    r.description = "Error occurred: " + str_field(e, LSTRACE_STR_ERROR_TYPE);
    error_id_tag(r, e);
    add_str(r, "error_type", e, LSTRACE_STR_ERROR_TYPE);
    add_str(r, "error_message", e, LSTRACE_STR_ERROR_MESSAGE);
    add_str(r, "error_module", e, LSTRACE_STR_ERROR_MODULE, true);
    add_str(r, "severity", e, LSTRACE_STR_SEVERITY, true);
    add_str(r, "category", e, LSTRACE_STR_CATEGORY, true);
    if (span) {
        add(r, "error_component", span->component);
        add(r, "error_operation", span->operation);
    }
    add_context(r, str_field(e, LSTRACE_STR_CONTEXT));
    for (std::uint32_t i = 0; i < std::min<std::uint32_t>(e.stack_len, LSTRACE_MAX_STACK); ++i)
        if (e.stack[i])  // a walk that ran off the stack ends in zeros
            r.stack.push_back(e.stack[i]);
}

void error_handled(EventRecord& r, const lstrace_point_event& e, const SpanRecord*)
{
    r.description = "Error handled by " + str_field(e, LSTRACE_STR_HANDLER);
    error_id_tag(r, e);
    add_str(r, "handler", e, LSTRACE_STR_HANDLER);
}

void error_recovery(EventRecord& r, const lstrace_point_event& e, const SpanRecord*)
{
    r.description = "Recovery attempt: " + str_field(e, LSTRACE_STR_STRATEGY);
    error_id_tag(r, e);
    add_str(r, "original_error", e, LSTRACE_STR_ORIGINAL_ERROR);
    add_str(r, "recovery_strategy", e, LSTRACE_STR_STRATEGY);
    add(r, "recovery_success", e.num[LSTRACE_NUM_RECOVERY_SUCCESS] != 0);
}

void error_resolution(EventRecord& r, const lstrace_point_event& e, const SpanRecord*)
{
    r.description = "Error " + str_field(e, LSTRACE_STR_OUTCOME);
    error_id_tag(r, e);
    add_str(r, "outcome", e, LSTRACE_STR_OUTCOME);
    add_str(r, "detail", e, LSTRACE_STR_DETAIL, true);
}

struct PointKind {
    std::uint32_t kind;
    const char* record_type;
    PointFiller fill;
};

// Data flow is not here: its transformations pair two events (on_data_flow).
constexpr PointKind kPointKinds[] = {
    {LSTRACE_POINT_COMPONENT_INIT, "component_init", component_init},
    {LSTRACE_POINT_STATE_CHANGE, "state_change", state_change},
    {LSTRACE_POINT_CONFIG_CHANGE, "config_change", config_change},
    {LSTRACE_POINT_ERROR, "error", error},
    {LSTRACE_POINT_ERROR_HANDLED, "error_handled", error_handled},
    {LSTRACE_POINT_ERROR_RECOVERY, "error_recovery", error_recovery},
    {LSTRACE_POINT_ERROR_RESOLUTION, "error_resolution", error_resolution},
};

}  // namespace

void Correlator::emit(EventRecord& r)
{
    ++stats_.events_recorded;
    if (event_sink_)
        event_sink_(r);
}

void Correlator::on_point(const lstrace_point_event& e)
{
    EventRecord r;
    r.tgid = e.hdr.tgid;
    r.tid = e.hdr.tid;
    r.ts_ns = e.hdr.ts_ns;
    r.span_id = e.hdr.span_id;
    r.trace_id_hi = e.trace_id_hi;
    r.trace_id_lo = e.trace_id_lo;
    r.flags = e.hdr.flags;
    const SpanRecord* span = find(e.hdr);
    // Errors and data belong to the component of the span they happen in
    // (component events name their own).
    r.component = span ? span->component : std::string();
    if (e.kind == LSTRACE_POINT_DATA_FLOW) {
        on_data_flow(std::move(r), e, span ? span->operation : std::string("data"));
        return;
    }
    for (const PointKind& k : kPointKinds) {
        if (k.kind == e.kind) {
            r.record_type = k.record_type;
            k.fill(r, e, span);
            emit(r);
            return;
        }
    }
    ++stats_.malformed_events;
}

// Input and output are one record each; a transformation's input half is
// held until its output half, which the same thread sends next.
void Correlator::on_data_flow(EventRecord r, const lstrace_point_event& e, const std::string& op)
{
    switch (e.num[LSTRACE_NUM_DIRECTION]) {
    case LSTRACE_DATA_INPUT:
    case LSTRACE_DATA_OUTPUT: {
        const bool input = e.num[LSTRACE_NUM_DIRECTION] == LSTRACE_DATA_INPUT;
        r.record_type = "data_flow";
        r.description = std::string(input ? "Data input for " : "Data output for ") + op;
        add(r, "direction", std::string(input ? "input" : "output"));
        add_data(r, e, "");
        emit(r);
        return;
    }
    case LSTRACE_DATA_TRANSFORM_INPUT: {
        r.record_type = "data_transform";
        r.description = "Data transformation for " + op;
        add_data(r, e, "input_");
        // an input still waiting lost its output half: count it, not pair it
        const std::uint64_t key = thread_key(r.tgid, r.tid);
        if (!transform_inputs_.emplace(key, r).second) {
            ++stats_.events_without_span;
            transform_inputs_[key] = std::move(r);
        }
        return;
    }
    case LSTRACE_DATA_TRANSFORM_OUTPUT: {
        auto it = transform_inputs_.find(thread_key(r.tgid, r.tid));
        if (it == transform_inputs_.end() || it->second.span_id != r.span_id) {
            ++stats_.events_without_span;  // its input half was lost
            if (it != transform_inputs_.end())
                transform_inputs_.erase(it);
            return;
        }
        EventRecord t = std::move(it->second);
        transform_inputs_.erase(it);
        t.flags |= r.flags;
        add_data(t, e, "output_");
        const std::int64_t in = tag_int(t, "input_size_bytes");
        const std::int64_t out = static_cast<std::int64_t>(e.num[LSTRACE_NUM_SIZE_BYTES]);
        add(t, "size_change_bytes", out - in);
        add(t, "size_change_ratio", in > 0 ? static_cast<double>(out) / in : 0.0);
        emit(t);
        return;
    }
    default:
        ++stats_.malformed_events;
    }
}

void Correlator::report_propagation(const SpanRecord& failed)
{
    if (!failed.parent_span_id)
        return;
    auto it = open_.find(Key{failed.tgid, failed.parent_span_id});
    if (it == open_.end() || it->second.component == failed.component)
        return;
    const SpanRecord& parent = it->second;
    EventRecord r;
    r.record_type = "error_propagation";
    r.tgid = failed.tgid;
    r.tid = failed.tid;
    r.ts_ns = failed.end_ns;
    r.span_id = parent.span_id;
    r.trace_id_hi = failed.trace_id_hi;
    r.trace_id_lo = failed.trace_id_lo;
    r.component = parent.component;
    const std::string type = !failed.errors.empty()                      ? failed.errors.back().type
                             : failed.status == LSTRACE_STATUS_EXCEPTION ? "exception"
                                                                         : "error";
    r.description =
        "Error " + type + " propagated from " + failed.component + " to " + parent.component;
    add(r, "error_type", type);
    if (!failed.errors.empty())
        add(r, "error_message", failed.errors.back().message);
    add(r, "from_component", failed.component);
    add(r, "from_operation", failed.operation);
    add(r, "from_span_id", hex_id(failed.span_id));
    add(r, "to_component", parent.component);
    add(r, "to_operation", parent.operation);
    add(r, "to_span_id", hex_id(parent.span_id));
    emit(r);
}

}  // namespace lstrace
