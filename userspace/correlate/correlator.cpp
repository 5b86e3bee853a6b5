#include "correlate/correlator.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "base/wait_status.hpp"
#include "lstrace/probe_abi.h"
#include "nlohmann/json.hpp"

namespace lstrace {
namespace {

// A fixed-size field that BPF filled with bpf_probe_read_user_str: NUL
// terminated unless the source was cut, so never read past the array.
template <std::size_t N>
std::string field(const char (&chars)[N])
{
    return std::string(chars, strnlen(chars, N));
}

// A tag's value from the span_tag probe's (type, num, str), or from the
// same fields of a buffered tag.
TagValue tag_value(std::uint32_t type, std::int64_t num, std::string str)
{
    switch (type) {
    case LSTRACE_TAG_INT:
        return num;
    case LSTRACE_TAG_DOUBLE: {
        double d;
        std::memcpy(&d, &num, sizeof(d));
        return d;
    }
    case LSTRACE_TAG_BOOL:
        return num != 0;
    case LSTRACE_TAG_JSON: {
        // Cut at the probe's 255 bytes (metadata.truncated), the text is no
        // longer JSON: it is kept as the string it is.
        nlohmann::json parsed = nlohmann::json::parse(str, nullptr, false);
        if (parsed.is_discarded())
            return str;
        return JsonText{parsed.dump()};
    }
    case LSTRACE_TAG_STRING:
    default:
        return str;
    }
}

// set_tag twice with one key keeps the last value, like a dict, at the
// place of the key's first setting.
void set_tag(std::vector<Tag>& tags, Tag tag)
{
    for (Tag& t : tags) {
        if (t.key == tag.key) {
            t.value = std::move(tag.value);
            return;
        }
    }
    tags.push_back(std::move(tag));
}

}  // namespace

bool decode_tag_buffer(const std::uint8_t* buf, std::size_t size, std::vector<Tag>& out)
{
    std::size_t at = 0;
    while (at < size) {
        if (size - at < LSTRACE_TAG_ENTRY_HEAD)
            return false;
        const std::uint32_t type = buf[at];
        const std::size_t key_len = buf[at + 1], value_len = buf[at + 2];
        const bool numeric =
            type == LSTRACE_TAG_INT || type == LSTRACE_TAG_DOUBLE || type == LSTRACE_TAG_BOOL;
        const bool text = type == LSTRACE_TAG_STRING || type == LSTRACE_TAG_JSON;
        if ((!numeric && !text) || (numeric && value_len != LSTRACE_TAG_NUM_LEN) ||
            key_len >= LSTRACE_NAME_LEN || value_len >= LSTRACE_VALUE_LEN ||
            size - at - LSTRACE_TAG_ENTRY_HEAD < key_len + value_len)
            return false;
        const char* key = reinterpret_cast<const char*>(buf + at + LSTRACE_TAG_ENTRY_HEAD);
        const char* value = key + key_len;
        std::int64_t num = 0;
        std::string str;
        if (numeric)
            std::memcpy(&num, value, sizeof(num));
        else
            str.assign(value, value_len);
        set_tag(out, Tag{std::string(key, key_len), tag_value(type, num, std::move(str))});
        at += LSTRACE_TAG_ENTRY_HEAD + key_len + value_len;
    }
    return true;
}

void Correlator::consume(const void* data, std::size_t size)
{
    lstrace_event_header h;
    if (size < sizeof(h)) {
        ++stats_.malformed_events;
        return;
    }
    std::memcpy(&h, data, sizeof(h));
    if (h.version != LSTRACE_ABI_VERSION) {
        ++stats_.malformed_events;
        return;
    }
    bool ok = false;
    switch (h.type) {
    case LSTRACE_EV_SPAN_BEGIN:
        ok = dispatch(data, size, &Correlator::on_begin);
        break;
    case LSTRACE_EV_SPAN_TAG:
        ok = dispatch(data, size, &Correlator::on_tag);
        break;
    case LSTRACE_EV_SPAN_ERROR:
        ok = dispatch(data, size, &Correlator::on_error);
        break;
    case LSTRACE_EV_SPAN_END:
        ok = dispatch(data, size, &Correlator::on_end);
        break;
    case LSTRACE_EV_THREAD_EXIT:
        ok = dispatch(data, size, &Correlator::on_thread_exit);
        break;
    case LSTRACE_EV_POINT:
        ok = dispatch(data, size, &Correlator::on_point);
        break;
    case LSTRACE_EV_SPAN_DROPPED:
        ok = dispatch(data, size, &Correlator::on_dropped);
        break;
    case LSTRACE_EV_PROCESS_EXEC:
        ok = dispatch(data, size, &Correlator::on_exec);
        break;
    default:
        break;
    }
    if (!ok)
        ++stats_.malformed_events;
}

template <typename Event>
bool Correlator::dispatch(const void* data, std::size_t size,
                          void (Correlator::*handler)(const Event&))
{
    if (size < sizeof(Event))
        return false;
    Event e;
    std::memcpy(&e, data, sizeof(Event));
    (this->*handler)(e);
    return true;
}

SpanRecord* Correlator::find(const lstrace_event_header& h)
{
    auto it = open_.find(Key{h.tgid, h.span_id});
    return it == open_.end() ? nullptr : &it->second;
}

void Correlator::on_begin(const lstrace_span_begin_event& e)
{
    if (max_open_ && open_.size() >= max_open_)
        evict_oldest();
    // Filled in place in the map (a record is a few hundred bytes: no copy).
    // A repeated span id in one process: the application draws 64-bit
    // random ids, so the open one will never see its end (a forged or
    // corrupted begin).  It is written as aborted, not dropped unseen.
    const auto [it, fresh] = open_.try_emplace(Key{e.hdr.tgid, e.hdr.span_id});
    if (!fresh) {
        SpanRecord& stale = it->second;
        stale.end_ns = e.hdr.ts_ns;
        abort_span(stale, "its span id was begun again");
        stale = SpanRecord{};
    }
    SpanRecord& r = it->second;
    r.tgid = e.hdr.tgid;
    r.tid = e.hdr.tid;
    r.ns_tgid = e.ns_tgid;
    r.ns_tid = e.ns_tid;
    r.span_id = e.hdr.span_id;
    r.parent_span_id = e.parent_span_id;
    r.trace_id_hi = e.trace_id_hi;
    r.trace_id_lo = e.trace_id_lo;
    r.begin_ns = e.hdr.ts_ns;
    r.flags = e.hdr.flags;
    r.tracer = field(e.tracer);
    r.component = field(e.component);
    r.operation = field(e.operation);
    r.description = field(e.description);
    r.thread_name = field(e.comm);
    r.begin_cpu = e.cpu;
}

void Correlator::on_tag(const lstrace_span_tag_event& e)
{
    SpanRecord* r = find(e.hdr);
    if (!r) {
        ++stats_.events_without_span;
        return;
    }
    r->flags |= e.hdr.flags;
    set_tag(r->tags, Tag{field(e.key), tag_value(e.value_type, e.num, field(e.str))});
}

void Correlator::on_error(const lstrace_span_error_event& e)
{
    SpanRecord* r = find(e.hdr);
    if (!r) {
        ++stats_.events_without_span;
        return;
    }
    r->flags |= e.hdr.flags;
    r->errors.push_back(SpanError{field(e.error_type), field(e.message)});
}

void Correlator::on_end(const lstrace_span_end_event& e)
{
    auto it = open_.find(Key{e.hdr.tgid, e.hdr.span_id});
    if (it == open_.end()) {
        ++stats_.ends_without_begin;
        return;
    }
    SpanRecord& r = it->second;
    r.end_ns = e.hdr.ts_ns;
    r.status = e.status;
    r.flags |= e.hdr.flags;
    // BPF finds a span's begin snapshot on the thread that began it; ended
    // on another thread, the end comes without one (NO_BEGIN): say why
    if (e.hdr.tid != r.tid)
        r.flags |= LSTRACE_F_THREAD_CHANGED;
    r.resources = e.delta;
    // The thread clock and the span's timestamps are read a few hundred ns
    // apart, and the clock's offset estimate is good to a microsecond or
    // two: a thread cannot have run longer than the span lasted.
    if (r.end_ns > r.begin_ns && r.resources.oncpu_ns > r.end_ns - r.begin_ns)
        r.resources.oncpu_ns = r.end_ns - r.begin_ns;
    r.rss_end_bytes = e.rss_end_bytes;
    r.peak_rss_bytes = (e.hdr.flags & LSTRACE_F_NO_PEAK) ? -1 : e.peak_rss_bytes;
    r.fds_open = e.fds_open;
    r.end_cpu = e.cpu;
    if (e.tags_size)
        merge_buffered_tags(r, e);
    ++stats_.spans_recorded;
    sink_(r);
    if (r.status != LSTRACE_STATUS_OK)
        report_propagation(r);
    open_.erase(it);
}

void Correlator::merge_buffered_tags(SpanRecord& r, const lstrace_span_end_event& e)
{
    // Every buffered tag was set before every tag that came through
    // span_tag (the header stops buffering at the first one that does not
    // fit): so they go first, and a later span_tag of the same key wins.
    std::vector<Tag> tags;
    if (e.tags_size > sizeof(e.tags) || !decode_tag_buffer(e.tags, e.tags_size, tags))
        ++stats_.malformed_events;  // the tags before the damage are kept
    for (Tag& t : r.tags)
        set_tag(tags, std::move(t));
    r.tags = std::move(tags);
}

void Correlator::on_dropped(const lstrace_span_dropped_event& e)
{
    if (open_.erase(Key{e.hdr.tgid, e.hdr.span_id}))
        ++stats_.spans_dropped_short;
    else
        ++stats_.ends_without_begin;
}

void Correlator::evict_oldest()
{
    // Forget the oldest tenth (at least one), so eviction is not a scan
    // per begin once the bound is reached.
    std::vector<std::pair<std::uint64_t, Key>> by_age;
    by_age.reserve(open_.size());
    for (const auto& [key, r] : open_)
        by_age.emplace_back(r.begin_ns, key);
    const std::size_t n = std::max<std::size_t>(1, by_age.size() / 10);
    std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(n - 1),
                     by_age.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < n; ++i)
        open_.erase(by_age[i].second);
    stats_.spans_evicted += n;
}

void Correlator::discard_lost_ends()
{
    for (auto it = open_.begin(); it != open_.end();)
        it = end_was_lost(it->second) ? open_.erase(it) : std::next(it);
}

void Correlator::on_thread_exit(const lstrace_thread_exit_event& e)
{
    // The thread's open spans end here; when the whole process is gone, so
    // do all of its spans.  Innermost (latest begun) first, like real ends.
    std::vector<decltype(open_)::iterator> victims;
    for (auto it = open_.begin(); it != open_.end(); ++it)
        if (it->first.tgid == e.hdr.tgid && (e.group_dead || it->second.tid == e.hdr.tid))
            victims.push_back(it);
    std::sort(victims.begin(), victims.end(),
              [](const auto& a, const auto& b) { return a->second.begin_ns > b->second.begin_ns; });
    // a transformation half-sent by a thread that is gone never completes
    for (auto it = transform_inputs_.begin(); it != transform_inputs_.end();)
        it = (it->first >> 32) == e.hdr.tgid &&
                     (e.group_dead || std::uint32_t(it->first) == e.hdr.tid)
                 ? transform_inputs_.erase(it)
                 : std::next(it);
    abort_spans(victims, e.hdr.ts_ns,
                e.group_dead ? describe_wait_status(e.exit_code) : "thread exited");
}

void Correlator::on_exec(const lstrace_process_event& e)
{
    // The old image's open spans can never end: the new one does not know
    // them.  (Its other threads are gone too, each with a THREAD_EXIT.)
    std::vector<decltype(open_)::iterator> victims;
    for (auto it = open_.begin(); it != open_.end(); ++it)
        if (it->first.tgid == e.hdr.tgid)
            victims.push_back(it);
    std::sort(victims.begin(), victims.end(),
              [](const auto& a, const auto& b) { return a->second.begin_ns > b->second.begin_ns; });
    abort_spans(victims, e.hdr.ts_ns, "the process exec'd another program");
}

void Correlator::abort_spans(const std::vector<OpenMap::iterator>& victims, std::uint64_t ts_ns,
                             const std::string& reason)
{
    for (auto it : victims) {
        SpanRecord& r = it->second;
        if (end_was_lost(r)) {  // it did end; BPF counted it as lost
            open_.erase(it);
            continue;
        }
        r.end_ns = ts_ns;
        abort_span(r, reason);
        open_.erase(it);
    }
}

void Correlator::abort_span(SpanRecord& r, const std::string& reason)
{
    r.aborted = true;
    r.abort_reason = reason;
    ++stats_.spans_aborted;
    sink_(r);
}

}  // namespace lstrace
