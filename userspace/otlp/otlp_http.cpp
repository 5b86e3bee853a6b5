#include "otlp/otlp_http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>

#include "otlp/otlp_encoding.hpp"
#include "output/trace_output.hpp"

namespace lstrace::otlp {
namespace {

struct CurlDeleter {
    void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

struct Exchange {
    std::string body;
    std::string retry_after;
    const std::atomic<bool>* abort = nullptr;
};

size_t on_body(char* data, size_t size, size_t n, void* user)
{
    auto* ex = static_cast<Exchange*>(user);
    // an answer body is a status or a partial success: a few KiB at most
    if (ex->body.size() < 64 * 1024)
        ex->body.append(data, std::min(size * n, 64 * 1024 - ex->body.size()));
    return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user)
{
    auto* ex = static_cast<Exchange*>(user);
    std::string line(data, size * n);
    static const char name[] = "retry-after:";
    if (line.size() > sizeof name - 1) {
        std::string head = line.substr(0, sizeof name - 1);
        std::transform(head.begin(), head.end(), head.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (head == name) {
            std::string value = line.substr(sizeof name - 1);
            value.erase(0, value.find_first_not_of(" \t"));
            value.erase(value.find_last_not_of(" \t\r\n") + 1);
            ex->retry_after = value;
        }
    }
    return size * n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t)
{
    const auto* ex = static_cast<Exchange*>(user);
    return ex->abort && ex->abort->load(std::memory_order_relaxed) ? 1 : 0;
}

class HttpTransport final : public Transport {
public:
    explicit HttpTransport(const Config& config) : config_(config)
    {
        static std::once_flag once;
        std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
        curl_.reset(curl_easy_init());
        if (!curl_)
            throw std::runtime_error("curl_easy_init failed");
        append(config_.protocol == Protocol::json ? "Content-Type: application/json"
                                                  : "Content-Type: application/x-protobuf");
        if (config_.gzip)
            append("Content-Encoding: gzip");
        append("Expect:");  // no 100-continue round trip for large bodies
        for (const auto& [key, value] : config_.headers)
            append(key + ": " + value);
        user_agent_ = std::string("lstrace-bpf/") + LSTRACE_VERSION;
    }

    SendOutcome send(const pb_collector::ExportTraceServiceRequest& request,
                     Clock::time_point deadline, const std::atomic<bool>& abort) override
    {
        std::string body = encode(request, config_.protocol);
        if (config_.gzip)
            body = gzip(body);
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        const long timeout_ms =
            std::max<long>(1, static_cast<long>(std::min(left, config_.timeout).count()));
        Exchange ex;
        ex.abort = &abort;
        CURL* c = curl_.get();
        curl_easy_reset(c);  // keeps the connection cache
        curl_easy_setopt(c, CURLOPT_URL, config_.url.c_str());
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers_.get());
        curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent_.c_str());
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // a worker thread: no SIGALRM
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        if (!config_.certificate.empty())
            curl_easy_setopt(c, CURLOPT_CAINFO, config_.certificate.c_str());
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &ex);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &ex);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &ex);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);

        SendOutcome out;
        const CURLcode rc = curl_easy_perform(c);
        if (rc != CURLE_OK) {
            // Not reached, refused, timed out, name not resolved: the
            // collector may be restarting, so these are retried.
            out.kind = SendOutcome::retryable;
            out.message = curl_easy_strerror(rc);
            if (rc == CURLE_OPERATION_TIMEDOUT)
                out.message = "no answer within " + std::to_string(timeout_ms) + " ms";
            return out;
        }
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            const ResponseInfo info = read_success_body(ex.body, config_.protocol);
            out.rejected_spans = info.rejected_spans;
            out.message = info.message;
            return out;
        }
        out.message = "HTTP " + std::to_string(status);
        if (std::string detail = read_error_body(ex.body, config_.protocol); !detail.empty())
            out.message += ": " + detail;
        // The specification's retryable codes; every other is final.
        const bool retry = status == 429 || status == 502 || status == 503 || status == 504;
        out.kind = retry ? SendOutcome::retryable : SendOutcome::rejected;
        if (retry && !ex.retry_after.empty())
            out.retry_after = parse_retry_after(ex.retry_after);
        return out;
    }

    std::string describe() const override { return config_.url; }

private:
    void append(const std::string& header)
    {
        curl_slist* next = curl_slist_append(headers_.get(), header.c_str());
        if (!next)
            throw std::runtime_error("curl_slist_append failed");
        headers_.release();
        headers_.reset(next);
    }

    Config config_;
    CurlHandle curl_;
    HeaderList headers_;
    std::string user_agent_;
};

class FileTransport final : public Transport {
public:
    explicit FileTransport(TraceOutput& output) : output_(output) {}
    SendOutcome send(const pb_collector::ExportTraceServiceRequest& request, Clock::time_point,
                     const std::atomic<bool>&) override
    {
        output_.write(to_otlp_json(request));
        output_.write("\n");
        return {};
    }
    std::string describe() const override { return output_.path(); }

private:
    TraceOutput& output_;
};

}  // namespace

std::unique_ptr<Transport> make_http_transport(const Config& config)
{
    return std::make_unique<HttpTransport>(config);
}

std::unique_ptr<Transport> make_file_transport(TraceOutput& output)
{
    return std::make_unique<FileTransport>(output);
}

std::chrono::milliseconds parse_retry_after(const std::string& value)
{
    if (!value.empty() &&
        std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); }))
        return std::chrono::seconds(std::min(std::atoll(value.c_str()), 24LL * 3600));
    const time_t when = curl_getdate(value.c_str(), nullptr);
    if (when < 0)
        return std::chrono::milliseconds(-1);
    const time_t now = std::time(nullptr);
    return std::chrono::seconds(when > now ? when - now : 0);
}

}  // namespace lstrace::otlp
