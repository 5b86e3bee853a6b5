#include "otlp/otlp_mapping.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <utility>

#include "analysis/trace_reader.hpp"

namespace lstrace::otlp {
namespace {

using json = nlohmann::json;
namespace pb_resource = opentelemetry::proto::resource::v1;

// resources fields that describe I/O: lstrace.io.<field>; the rest are
// lstrace.<field> (docs/otlp.md).
const std::set<std::string>& io_fields()
{
    static const std::set<std::string> fields = {
        "read_bytes",         "write_bytes",         "read_syscalls",    "write_syscalls",
        "storage_read_bytes", "storage_write_bytes", "file_read_bytes",  "file_write_bytes",
        "net_read_bytes",     "net_write_bytes",     "other_read_bytes", "other_write_bytes",
        "io_wait_ms",         "files_opened",        "fds_closed",       "sockets_connected",
        "sockets_accepted",   "fds_open_at_end"};
    return fields;
}

template <typename Message>
void add_attribute(Message& m, const std::string& key, const json& value)
{
    pb_common::AnyValue v;
    if (!to_any_value(value, v))
        return;
    auto* kv = m.add_attributes();
    kv->set_key(key);
    *kv->mutable_value() = std::move(v);
}

// The object member `key`, or an empty object (no copy either way).
const json& member(const json& record, const char* key)
{
    static const json empty = json::object();
    const auto it = record.find(key);
    return it != record.end() && it->is_object() ? *it : empty;
}

// Decimal ids are strings in the records ("8745"): attributes take integers.
json id_value(const json& v)
{
    if (v.is_string()) {
        if (auto n = parse_integer(v.get<std::string>()))
            return *n;
    }
    return v;
}

std::uint64_t unix_ns(const json& record)
{
    const auto us = parse_timestamp_us(json_string(record, "timestamp"));
    return us && *us > 0 ? static_cast<std::uint64_t>(*us) * 1000u : 0;
}

// The first tag of `keys` present with a non-null value.
const json* first_tag(const json& tags, std::initializer_list<const char*> keys)
{
    for (const char* k : keys) {
        auto it = tags.find(k);
        if (it != tags.end() && !it->is_null())
            return &*it;
    }
    return nullptr;
}

std::string as_text(const json* v)
{
    if (!v)
        return "";
    return v->is_string() ? v->get<std::string>() : v->dump();
}

// The GenAI semantic conventions for a span whose component matches a rule:
// attributes, and the conventions' span name.
std::string apply_genai(const std::vector<GenAiRule>& rules, const std::string& component,
                        const std::string& operation, const json& tags, pb_trace::Span& span)
{
    // Exact names: a class `Agent`'s method spans are not agent invocations.
    const auto rule = std::find_if(rules.begin(), rules.end(),
                                   [&](const GenAiRule& r) { return r.component == component; });
    if (rule == rules.end())
        return "";
    const json no_tags = json::object();
    const json& t = tags.is_object() ? tags : no_tags;
    add_attribute(span, "gen_ai.operation.name", operation_name(rule->operation));
    std::string subject;
    // agent, tool and workflow spans: their kind, and the subject named by
    // the first of `keys` present (else the operation), also as `attribute`
    const auto invoke = [&](const char* kind, std::initializer_list<const char*> keys,
                            const char* attribute) {
        add_attribute(span, "openinference.span.kind", kind);
        subject = as_text(first_tag(t, keys));
        if (subject.empty())
            subject = operation;
        if (attribute)
            add_attribute(span, attribute, subject);
    };
    switch (rule->operation) {
    case GenAiOperation::chat: {
        add_attribute(span, "openinference.span.kind", "LLM");
        if (const json* m = first_tag(t, {"gen_ai.request.model", "model", "model_name"})) {
            subject = as_text(m);
            add_attribute(span, "gen_ai.request.model", subject);
        }
        if (const json* p = first_tag(t, {"gen_ai.provider.name", "provider", "system"}))
            add_attribute(span, "gen_ai.provider.name", as_text(p));
        if (const json* v = first_tag(t, {"input_tokens", "prompt_tokens"});
            v && v->is_number_integer())
            add_attribute(span, "gen_ai.usage.input_tokens", *v);
        if (const json* v = first_tag(t, {"output_tokens", "completion_tokens", "tokens"});
            v && v->is_number_integer())
            add_attribute(span, "gen_ai.usage.output_tokens", *v);
        if (const json* v = first_tag(t, {"temperature"}); v && v->is_number())
            add_attribute(span, "gen_ai.request.temperature", *v);
        if (const json* v = first_tag(t, {"max_tokens"}); v && v->is_number_integer())
            add_attribute(span, "gen_ai.request.max_tokens", *v);
        break;
    }
    case GenAiOperation::invoke_agent:
        invoke("AGENT", {"gen_ai.agent.name", "agent", "agent_name"}, "gen_ai.agent.name");
        break;
    case GenAiOperation::execute_tool:
        invoke("TOOL", {"gen_ai.tool.name", "tool", "tool_name"}, "gen_ai.tool.name");
        break;
    case GenAiOperation::invoke_workflow:
        invoke("CHAIN", {"workflow", "workflow_name"}, nullptr);
        break;
    }
    std::string name = operation_name(rule->operation);
    if (!subject.empty())
        name += " " + subject;
    return name;
}

// "function+offset (object offset)" per frame, one per line.
std::string stack_text(const json& frames)
{
    std::string out;
    for (const json& f : frames) {
        const std::string fn = json_string(f, "function");
        out += "  at " + (fn.empty() ? json_string(f, "address") : fn);
        if (!fn.empty())
            out += "+" + std::to_string(json_signed(f, "function_offset"));
        out += " (" + json_string(f, "object") + " " + json_string(f, "offset") + ")\n";
    }
    return out;
}

}  // namespace

std::string hex_to_bytes(const std::string& hex, std::size_t n)
{
    if (hex.size() != 2 * n)
        return "";
    std::string out(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        int v = 0;
        for (int k = 0; k < 2; ++k) {
            const char c = hex[2 * i + k];
            int d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            else
                return "";
            v = v * 16 + d;
        }
        out[i] = static_cast<char>(v);
    }
    return out;
}

bool to_any_value(const json& value, pb_common::AnyValue& out)
{
    switch (value.type()) {
    case json::value_t::string:
        out.set_string_value(value.get<std::string>());
        return true;
    case json::value_t::boolean:
        out.set_bool_value(value.get<bool>());
        return true;
    case json::value_t::number_integer:
        out.set_int_value(value.get<std::int64_t>());
        return true;
    case json::value_t::number_unsigned: {
        const auto u = value.get<std::uint64_t>();
        if (u <= static_cast<std::uint64_t>(INT64_MAX))
            out.set_int_value(static_cast<std::int64_t>(u));
        else
            out.set_double_value(static_cast<double>(u));
        return true;
    }
    case json::value_t::number_float:
        out.set_double_value(value.get<double>());
        return true;
    case json::value_t::array: {
        auto* arr = out.mutable_array_value();
        for (const json& item : value) {
            pb_common::AnyValue v;
            if (to_any_value(item, v))
                *arr->add_values() = std::move(v);
        }
        return true;
    }
    case json::value_t::object: {
        auto* list = out.mutable_kvlist_value();
        for (const auto& [key, item] : value.items()) {
            pb_common::AnyValue v;
            if (!to_any_value(item, v))
                continue;
            auto* kv = list->add_values();
            kv->set_key(key);
            *kv->mutable_value() = std::move(v);
        }
        return true;
    }
    default:
        return false;  // null, binary, discarded
    }
}

SpanMapper::SpanMapper(MappingSettings settings) : settings_(std::move(settings)) {}

SpanMapper::Kind SpanMapper::add(const json& record)
{
    const std::string type =
        record.contains("record_type") ? json_string(record, "record_type") : "span";
    const std::string span_id = json_string(record, "span_id");
    if (type == "span") {
        pb_trace::Span span = map_span(record, span_id);
        const json& meta = member(record, "metadata");
        const std::string pid = json_string(meta, "process_id");
        const std::string tracer = json_string(meta, "tracer");
        Process& p = processes_[pid];
        if (p.tracer_root.empty() && !tracer.empty())
            p.tracer_root = tracer.substr(0, tracer.find('.'));
        batch_[pid][tracer].push_back(std::move(span));
        ++batched_;
        ++counts_.spans;
        return Kind::span;
    }
    if (type == "process_info") {
        add_process_info(record);
        return Kind::other;
    }
    if (span_id.empty()) {
        ++counts_.events_outside_spans;
        return Kind::other;
    }
    add_event(record, span_id);
    return Kind::event;
}

void SpanMapper::add_process_info(const json& record)
{
    Process& p = processes_[json_string(member(record, "metadata"), "process_id")];
    const json& details = member(record, "details");
    {
        p.host_name = json_string(details, "hostname");
        p.command_line.clear();
        if (auto it = details.find("command_line"); it != details.end() && it->is_array())
            for (const json& arg : *it)
                if (arg.is_string())
                    p.command_line.push_back(arg.get<std::string>());
    }
}

void SpanMapper::add_event(const json& record, const std::string& span_id)
{
    const std::string type = json_string(record, "record_type");
    pb_trace::Span::Event ev;
    ev.set_time_unix_nano(unix_ns(record));
    const json& tags = member(record, "tags");
    if (type == "error") {
        // The semantic conventions' exception event; the rest of the tags
        // (error_id, severity, context_*) as they are.
        ev.set_name("exception");
        add_attribute(ev, "exception.type", json_string(tags, "error_type"));
        add_attribute(ev, "exception.message", json_string(tags, "error_message"));
        if (auto st = record.find("stack_trace");
            st != record.end() && st->is_array() && !st->empty())
            add_attribute(ev, "exception.stacktrace", stack_text(*st));
        if (record.contains("stack_note"))
            add_attribute(ev, "lstrace.stack_note", record["stack_note"]);
    } else {
        ev.set_name(type);
    }
    if (tags.is_object())
        for (const auto& [key, value] : tags.items())
            add_attribute(ev, key, value);
    add_attribute(ev, "lstrace.component", json_string(record, "component"));
    add_attribute(ev, "lstrace.description", json_string(record, "description"));
    if (const auto meta = record.find("metadata"); meta != record.end() && meta->is_object())
        if (const auto tid = meta->find("thread_id"); tid != meta->end())
            add_attribute(ev, "thread.id", id_value(*tid));

    auto [it, fresh] = waiting_.try_emplace(span_id);
    if (fresh) {
        // Ids of spans that came are left in the order until they are the
        // oldest; compact when they outnumber the waiting ones.
        if (waiting_order_.size() > 2 * waiting_.size() + 1024) {
            std::deque<std::string> still;
            for (std::string& id : waiting_order_)
                if (waiting_.count(id))
                    still.push_back(std::move(id));
            waiting_order_.swap(still);
        }
        waiting_order_.push_back(span_id);
    }
    it->second.push_back(std::move(ev));
    ++waiting_events_;
    // Bounded: the events of spans that never come (dropped, still open)
    // must not pile up; the oldest go first.
    while (waiting_events_ > settings_.max_waiting_events && !waiting_order_.empty()) {
        auto old = waiting_.find(waiting_order_.front());
        waiting_order_.pop_front();
        if (old == waiting_.end())
            continue;
        waiting_events_ -= old->second.size();
        counts_.events_unmatched += old->second.size();
        waiting_.erase(old);
    }
}

pb_trace::Span SpanMapper::map_span(const json& r, const std::string& span_id)
{
    pb_trace::Span s;
    s.set_trace_id(hex_to_bytes(json_string(r, "trace_id"), 16));
    s.set_span_id(hex_to_bytes(span_id, 8));
    s.set_parent_span_id(hex_to_bytes(json_string(r, "parent_span_id"), 8));
    s.set_kind(pb_trace::Span::SPAN_KIND_INTERNAL);
    const std::uint64_t start = unix_ns(r);
    const double duration_ms = json_number(r, "duration_ms");
    s.set_start_time_unix_nano(start);
    s.set_end_time_unix_nano(
        start + static_cast<std::uint64_t>(std::llround(std::max(0.0, duration_ms) * 1e6)));

    const std::string component = json_string(r, "component");
    const std::string operation = json_string(r, "operation");
    const json& tags = member(r, "tags");
    std::string name = apply_genai(settings_.genai, component, operation, tags, s);
    s.set_name(name.empty() ? component + "." + operation : name);
    add_attribute(s, "lstrace.component", component);
    add_attribute(s, "lstrace.operation", operation);
    add_attribute(s, "lstrace.description", json_string(r, "description"));

    if (tags.is_object())
        for (const auto& [key, value] : tags.items())
            add_attribute(s, key, value);

    if (const auto meta = r.find("metadata"); meta != r.end() && meta->is_object()) {
        for (const auto& [key, value] : meta->items()) {
            if (key == "process_id" || key == "tracer")
                continue;  // the Resource and the scope
            if (key == "thread_id")
                add_attribute(s, "thread.id", id_value(value));
            else if (key == "thread_name")
                add_attribute(s, "thread.name", value);
            else if (key == "memory_usage")
                add_attribute(s, "lstrace.memory_usage_bytes", value);
            else if (key == "cpu_usage")
                add_attribute(s, "lstrace.cpu_usage_percent", value);
            else if (key == "ns_thread_id" || key == "ns_process_id")
                add_attribute(s, "lstrace." + key, id_value(value));
            else
                add_attribute(s, "lstrace." + key, value);
        }
    }
    if (const auto res = r.find("resources"); res != r.end() && res->is_object())
        for (const auto& [key, value] : res->items())
            add_attribute(s, (io_fields().count(key) ? "lstrace.io." : "lstrace.") + key, value);

    const SpanFacts facts = span_facts(r);
    if (facts.aborted) {
        add_attribute(s, "lstrace.aborted", true);
        s.mutable_status()->set_code(pb_trace::Status::STATUS_CODE_ERROR);
        s.mutable_status()->set_message("aborted: " + json_string(tags, "abort_reason"));
    } else if (facts.failed) {
        s.mutable_status()->set_code(pb_trace::Status::STATUS_CODE_ERROR);
        std::string message = facts.error_message.empty() ? facts.error_type : facts.error_message;
        if (message.empty() && json_bool(tags, "exception_unwinding", false))
            message = "ended during exception unwinding";
        s.mutable_status()->set_message(message);
    }

    bool has_exception = false;
    if (auto w = waiting_.find(span_id); w != waiting_.end()) {
        for (auto& ev : w->second) {
            has_exception = has_exception || ev.name() == "exception";
            *s.add_events() = std::move(ev);
        }
        counts_.events_attached += w->second.size();
        waiting_events_ -= w->second.size();
        waiting_.erase(w);  // its id stays in waiting_order_ until it is the oldest
    }
    // A span failed with record_error but no error event: the conventions'
    // exception event at its end, so backends show the error.
    if (facts.failed && !facts.aborted && !has_exception && !facts.error_type.empty()) {
        auto* ev = s.add_events();
        ev->set_time_unix_nano(s.end_time_unix_nano());
        ev->set_name("exception");
        add_attribute(*ev, "exception.type", facts.error_type);
        add_attribute(*ev, "exception.message", facts.error_message);
    }
    return s;
}

void SpanMapper::fill_resource(const std::string& pid, pb_resource::Resource& resource)
{
    const Process& p = processes_[pid];
    std::set<std::string> given;
    for (const auto& [key, value] : settings_.resource_attributes) {
        add_attribute(resource, key, value);
        given.insert(key);
    }
    const auto add = [&](const std::string& key, const json& value) {
        if (!given.count(key))
            add_attribute(resource, key, value);
    };
    std::string executable;
    if (!p.command_line.empty())
        executable = p.command_line.front().substr(p.command_line.front().rfind('/') + 1);
    std::string service = settings_.service_name;
    if (service.empty())
        service = !p.tracer_root.empty() ? p.tracer_root
                  : !executable.empty()  ? executable
                                         : "unknown_service";
    add("service.name", service);
    if (!pid.empty())
        add("process.pid", id_value(pid));
    if (!executable.empty())
        add("process.executable.name", executable);
    if (!p.command_line.empty()) {
        std::string line;
        for (const std::string& arg : p.command_line)
            line += (line.empty() ? "" : " ") + arg;
        add("process.command_line", line);
    }
    const std::string host = p.host_name.empty() ? settings_.host_name : p.host_name;
    if (!host.empty())
        add("host.name", host);
    add("telemetry.sdk.name", "lstrace-bpf");
    add("telemetry.sdk.version", LSTRACE_VERSION);
}

pb_collector::ExportTraceServiceRequest SpanMapper::take_request()
{
    pb_collector::ExportTraceServiceRequest req;
    for (auto& [pid, tracers] : batch_) {
        auto* rs = req.add_resource_spans();
        fill_resource(pid, *rs->mutable_resource());
        for (auto& [tracer, spans] : tracers) {
            auto* ss = rs->add_scope_spans();
            ss->mutable_scope()->set_name(tracer.empty() ? "lstrace-bpf" : tracer);
            for (auto& span : spans)
                *ss->add_spans() = std::move(span);
        }
    }
    batch_.clear();
    batched_ = 0;
    return req;
}

void SpanMapper::finish()
{
    counts_.events_unmatched += waiting_events_;
    waiting_.clear();
    waiting_order_.clear();
    waiting_events_ = 0;
}

}  // namespace lstrace::otlp
