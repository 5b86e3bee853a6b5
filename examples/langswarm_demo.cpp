// SPDX-License-Identifier: MIT
//
// langswarm_demo - a small multi-agent LLM workflow in the style of the
// LangSwarm framework, instrumented with the lstrace probe API.
//
// Three agents (researcher, analyst, critic) take turns for a few steps,
// each one reading the previous agent's artifact, asking a model for a
// reply, saving its own artifact and remembering what it did.  Everything an
// agent does is a span, so `lstrace-bpf record -- langswarm_demo` shows, per
// operation, where the time went (on-CPU decoding vs off-CPU model latency),
// the file I/O of the tools and the memory the store keeps.
//
// The model is simulated in-process, so the demo needs no network: its
// latency is a sleep and its decoding is real CPU work.  One model call is
// made to fail with a rate limit (see "failure_injection" in the config) to
// show a failed span followed by a successful retry.
//
// Usage: langswarm_demo [config.json]
//        (default: demo_config.json beside the executable)

#include <lstrace/lstrace.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace langswarm_demo {
namespace {

// ---------------------------------------------------------------------------
// Deterministic randomness.  The standard distributions are not specified
// bit-for-bit, so the demo uses its own: the same seed gives the same run
// (token counts, latencies, artifacts) with any standard library.

constexpr std::uint64_t mix64(std::uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::uint64_t fnv1a(const std::string& text)
{
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char c : text)
        h = (h ^ c) * 0x100000001b3ULL;
    return h;
}

// Maps 64 random bits to [0, 1).
double to_unit(std::uint64_t bits)
{
    return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}

    std::uint64_t next() { return mix64(state_ += 0x9e3779b97f4a7c15ULL); }
    double unit() { return to_unit(next()); }
    // Uniform in [lo, hi].
    int between(int lo, int hi)
    {
        return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1));
    }

private:
    std::uint64_t state_;
};

// ---------------------------------------------------------------------------
// Configuration

struct AgentConfig {
    std::string name;
    std::string role;
    std::string model;
    double temperature = 0.0;
    int latency_ms = 0;
    int max_tokens = 0;
};

struct FailureInjection {
    std::string agent;  // empty: no failure is injected
    int step = 0;
    int failing_attempts = 1;
    int response_ms = 0;     // how long the rejected request takes
    int retry_after_ms = 0;  // the server's Retry-After hint
    std::string message;

    bool applies_to(const std::string& agent_name, int at_step, int attempt) const
    {
        return agent == agent_name && step == at_step && attempt <= failing_attempts;
    }
};

struct DemoConfig {
    std::string workflow;
    std::string task;
    std::uint64_t seed = 0;
    int steps = 0;
    int candidates_per_token = 0;
    int latency_jitter_ms = 0;
    int max_attempts = 0;
    std::size_t artifact_bytes = 0;
    std::size_t write_chunk_bytes = 0;
    std::size_t prompt_context_bytes = 0;
    std::size_t memory_bytes_per_entry = 0;
    std::size_t embedding_dim = 0;
    FailureInjection failure;
    std::vector<AgentConfig> agents;
};

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string read_text_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ConfigError(std::strerror(errno));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A positive integer field; the demo has no use for zero or negative sizes.
template <typename T>
T positive(const nlohmann::json& object, const char* key)
{
    const auto value = object.at(key).get<std::int64_t>();
    if (value <= 0)
        throw ConfigError(std::string("\"") + key + "\" must be positive");
    return static_cast<T>(value);
}

DemoConfig parse_config(const nlohmann::json& j)
{
    DemoConfig c;
    c.workflow = j.at("workflow").get<std::string>();
    c.task = j.at("task").get<std::string>();
    c.seed = j.at("seed").get<std::uint64_t>();
    c.steps = positive<int>(j, "steps");

    const auto& llm = j.at("llm");
    c.candidates_per_token = positive<int>(llm, "candidates_per_token");
    c.latency_jitter_ms = llm.at("latency_jitter_ms").get<int>();
    c.max_attempts = positive<int>(llm, "max_attempts");

    const auto& tools = j.at("tools");
    c.artifact_bytes = positive<std::size_t>(tools, "artifact_bytes");
    c.write_chunk_bytes = positive<std::size_t>(tools, "write_chunk_bytes");
    c.prompt_context_bytes = positive<std::size_t>(tools, "prompt_context_bytes");

    const auto& memory = j.at("memory");
    c.memory_bytes_per_entry = positive<std::size_t>(memory, "bytes_per_entry");
    c.embedding_dim = positive<std::size_t>(memory, "embedding_dim");

    if (const auto f = j.find("failure_injection"); f != j.end()) {
        c.failure.agent = f->at("agent").get<std::string>();
        c.failure.step = positive<int>(*f, "step");
        c.failure.failing_attempts = positive<int>(*f, "failing_attempts");
        c.failure.response_ms = f->at("response_ms").get<int>();
        c.failure.retry_after_ms = f->at("retry_after_ms").get<int>();
        c.failure.message = f->at("message").get<std::string>();
    }

    for (const auto& a : j.at("agents")) {
        AgentConfig agent;
        agent.name = a.at("name").get<std::string>();
        agent.role = a.at("role").get<std::string>();
        agent.model = a.at("model").get<std::string>();
        agent.temperature = a.at("temperature").get<double>();
        agent.latency_ms = positive<int>(a, "latency_ms");
        agent.max_tokens = positive<int>(a, "max_tokens");
        c.agents.push_back(std::move(agent));
    }
    if (c.agents.empty())
        throw ConfigError("\"agents\" must not be empty");
    if (c.latency_jitter_ms < 0 || c.failure.response_ms < 0 || c.failure.retry_after_ms < 0)
        throw ConfigError("durations must not be negative");
    return c;
}

std::string join_keys(const nlohmann::json& object)
{
    std::string keys;
    for (const auto& item : object.items())
        keys += (keys.empty() ? "" : ",") + item.key();
    return keys;
}

DemoConfig load_config(const std::string& path)
{
    const auto tracer = lstrace::get_tracer("langswarm.config");
    auto span = tracer.trace_operation("config", "load", "Loading workflow configuration");
    span.set_tag("config_path", path);
    try {
        const std::string text = read_text_file(path);
        span.set_tag("config_size", text.size());
        const auto json = nlohmann::json::parse(text);
        if (!json.is_object())
            throw ConfigError("top level must be an object");
        // Joining the keys allocates: skip it when nobody records the tag.
        if (span.recording())
            span.set_tag("config_keys", join_keys(json));
        DemoConfig config = parse_config(json);
        if (LSTRACE_EVENT_ENABLED(component_init)) {
            std::vector<std::string> keys;
            for (const auto& item : json.items())
                keys.push_back(item.key());
            lstrace::ComponentTracer("workflow")
                .trace_initialization(keys, static_cast<std::int64_t>(text.size()));
        }
        span.set_tag("agents", config.agents.size());
        span.set_tag("steps", config.steps);
        return config;
    } catch (const std::exception& e) {
        span.record_error("ConfigurationError", e.what());
        const lstrace::ErrorId id = lstrace::trace_error({"ConfigurationError",
                                                          e.what(),
                                                          "langswarm.config",
                                                          "critical",
                                                          "configuration",
                                                          {{"path", path}}});
        lstrace::trace_error_escalated(id, "the workflow cannot start without a configuration");
        throw ConfigError(path + ": " + e.what());
    }
}

// The config shipped beside the executable (CMake copies it there), so the
// demo runs from any working directory.
std::string default_config_path()
{
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec)
        return "demo_config.json";
    return (exe.parent_path() / "demo_config.json").string();
}

void sleep_ms(int ms)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// ---------------------------------------------------------------------------
// Tools: a file tool working in a private temporary directory.

class UniqueFd {
public:
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    // Closes now and reports the result: for written files a failed close
    // can be the first sign of lost data.
    int close()
    {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

private:
    int fd_;
};

class TempDir {
public:
    TempDir()
    {
        char pattern[] = "/tmp/langswarm-demo-XXXXXX";
        if (!::mkdtemp(pattern))
            throw std::system_error(errno, std::generic_category(), "mkdtemp");
        path_ = pattern;
    }
    ~TempDir()
    {
        std::error_code ec;  // best effort: a destructor must not throw
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }

private:
    std::string path_;
};

struct FileStats {
    int files_written = 0;
    int files_read = 0;
    std::size_t bytes_written = 0;
    std::size_t bytes_read = 0;
};

class FileTool {
public:
    FileTool(std::string dir, std::size_t chunk_bytes)
        : dir_(std::move(dir)), chunk_bytes_(chunk_bytes)
    {}

    // Writes `content` to `name` with chunk-sized write(2) calls, the way a
    // tool streams a generated report out.
    void write(const std::string& name, const std::string& content)
    {
        const std::string path = path_of(name);
        auto span = tracer_.trace_operation("tool", "file_write", "Saving artifact " + name);
        span.set_tag("path", path);

        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd.valid())
            fail(span, "open " + path);
        const char* data = content.data();
        std::size_t left = content.size();
        int calls = 0;
        while (left > 0) {
            const ssize_t n = ::write(fd.get(), data, std::min(left, chunk_bytes_));
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                fail(span, "write " + path);
            }
            data += n;
            left -= static_cast<std::size_t>(n);
            ++calls;
        }
        if (fd.close() != 0)
            fail(span, "close " + path);

        span.set_tag("bytes", content.size());
        span.set_tag("write_calls", calls);
        ++stats_.files_written;
        stats_.bytes_written += content.size();
    }

    std::string read(const std::string& name)
    {
        const std::string path = path_of(name);
        auto span = tracer_.trace_operation("tool", "file_read", "Loading artifact " + name);
        span.set_tag("path", path);

        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd.valid())
            fail(span, "open " + path);
        std::string content;
        std::vector<char> buffer(chunk_bytes_);
        int calls = 0;
        for (;;) {
            const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                fail(span, "read " + path);
            }
            ++calls;
            if (n == 0)
                break;
            content.append(buffer.data(), static_cast<std::size_t>(n));
        }

        span.set_tag("bytes", content.size());
        span.set_tag("read_calls", calls);
        ++stats_.files_read;
        stats_.bytes_read += content.size();
        return content;
    }

    const FileStats& stats() const { return stats_; }

private:
    std::string path_of(const std::string& name) const { return dir_ + "/" + name; }

    // Marks the tool span failed and reports errno to the caller.
    [[noreturn]] static void fail(lstrace::Span& span, const std::string& what)
    {
        const int err = errno;
        span.record_error("ToolError", what + ": " + std::strerror(err));
        throw std::system_error(err, std::generic_category(), what);
    }

    lstrace::Tracer tracer_ = lstrace::get_tracer("langswarm.tools");
    std::string dir_;
    std::size_t chunk_bytes_;
    FileStats stats_;
};

// ---------------------------------------------------------------------------
// Memory: the agents' long-term memory, an in-process embedding store that
// keeps every entry for the whole run (so the process's RSS only grows).

class MemoryStore {
public:
    MemoryStore(std::size_t bytes_per_entry, std::size_t dim)
        : rows_per_entry_(std::max<std::size_t>(1, bytes_per_entry / (dim * sizeof(float)))),
          dim_(dim)
    {}

    void store(const std::string& key, const std::string& text)
    {
        auto span = tracer_.trace_operation("memory", "store", "Embedding " + key + " into memory");
        span.set_tag("key", key);

        // Pseudo-embeddings derived from the text: writing real values into
        // every row is what makes the kernel back the pages (an untouched
        // allocation would not show up in RSS).
        std::vector<float> rows(rows_per_entry_ * dim_);
        const std::uint64_t seed = fnv1a(text);
        for (std::size_t i = 0; i < rows.size(); ++i)
            rows[i] = static_cast<float>(to_unit(mix64(seed + i)) * 2.0 - 1.0);

        const std::size_t bytes = rows.size() * sizeof(float);
        entries_.push_back(Entry{key, std::move(rows)});
        total_bytes_ += bytes;

        span.set_tag("rows", rows_per_entry_);
        span.set_tag("bytes", bytes);
        span.set_tag("entries", entries_.size());
        span.set_tag("total_bytes", total_bytes_);
    }

    std::size_t entries() const { return entries_.size(); }
    std::size_t total_bytes() const { return total_bytes_; }

private:
    struct Entry {
        std::string key;
        std::vector<float> rows;
    };

    lstrace::Tracer tracer_ = lstrace::get_tracer("langswarm.memory");
    std::size_t rows_per_entry_;
    std::size_t dim_;
    std::vector<Entry> entries_;
    std::size_t total_bytes_ = 0;
};

// ---------------------------------------------------------------------------
// The model client.  It simulates the model in-process: the network and
// queueing latency is a sleep (off-CPU), decoding is a real token-scoring
// loop (on-CPU), so traces look like those of a real client.

constexpr const char* kRateLimitError = "RateLimitError";

class RateLimitError : public std::runtime_error {
public:
    RateLimitError(const std::string& message, int retry_after_ms)
        : std::runtime_error(message), retry_after_ms_(retry_after_ms)
    {}
    int retry_after_ms() const { return retry_after_ms_; }

private:
    int retry_after_ms_;
};

struct GenerateRequest {
    const AgentConfig& agent;
    int step;
    int attempt;
    const std::string& prompt;
};

struct Completion {
    std::string text;
    int prompt_tokens = 0;
    int completion_tokens = 0;
};

// Rough BPE estimate: about one token per four bytes of each word.
int count_tokens(const std::string& text)
{
    int tokens = 0;
    std::size_t word = 0;
    for (const char c : text) {
        if (c == ' ' || c == '\n' || c == '\t') {
            tokens += static_cast<int>((word + 3) / 4);
            word = 0;
        } else {
            ++word;
        }
    }
    return tokens + static_cast<int>((word + 3) / 4);
}

class ModelClient {
public:
    explicit ModelClient(const DemoConfig& config)
        : seed_(config.seed),
          candidates_(static_cast<std::size_t>(config.candidates_per_token)),
          latency_jitter_ms_(config.latency_jitter_ms),
          failure_(config.failure)
    {}

    // Throws RateLimitError when the (simulated) server rejects the call.
    Completion generate(const GenerateRequest& request)
    {
        const AgentConfig& agent = request.agent;
        auto span =
            tracer_.trace_operation("llm", "generate", "Generating a reply with " + agent.model);
        span.set_tag("model", agent.model);
        span.set_tag("agent", agent.name);
        span.set_tag("temperature", agent.temperature);
        span.set_tag("attempt", request.attempt);
        if (request.attempt > 1)
            span.set_tag("recovery_strategy", "retry");

        Completion reply;
        lstrace::data_input(request.prompt);
        reply.prompt_tokens = count_tokens(request.prompt);
        span.set_tag("prompt_tokens", reply.prompt_tokens);

        // Seeded per (agent, step, attempt) so the run does not depend on
        // the order in which calls happen.
        Rng rng(mix64(seed_ ^ fnv1a(agent.name)) + static_cast<std::uint64_t>(request.step) * 1000 +
                static_cast<std::uint64_t>(request.attempt));

        if (failure_.applies_to(agent.name, request.step, request.attempt)) {
            sleep_ms(failure_.response_ms);
            // the client halves its request rate after a 429
            const int slower = std::max(1, max_requests_per_second_ / 2);
            component_.trace_config_change("max_requests_per_second",
                                           std::to_string(max_requests_per_second_),
                                           std::to_string(slower));
            max_requests_per_second_ = slower;
            span.record_error(kRateLimitError, failure_.message.c_str());
            span.set_tag("retry_after_ms", failure_.retry_after_ms);
            throw RateLimitError(failure_.message, failure_.retry_after_ms);
        }

        sleep_ms(agent.latency_ms + rng.between(-latency_jitter_ms_, latency_jitter_ms_));
        reply.completion_tokens = rng.between(agent.max_tokens / 2, agent.max_tokens);
        reply.text = decode(reply.completion_tokens, agent.temperature, rng);
        span.set_tag("completion_tokens", reply.completion_tokens);
        span.set_tag("total_tokens", reply.prompt_tokens + reply.completion_tokens);
        lstrace::data_output(reply.text);
        return reply;
    }

private:
    // Temperature sampling over pseudo-logits: per token, score every
    // candidate, softmax at `temperature`, draw one.  The cost grows with
    // tokens x candidates, like decoding does.
    std::string decode(int tokens, double temperature, Rng& rng)
    {
        static const char* const words[] = {
            "market",  "demand", "latency", "appliance", "pricing",  "margin",     "risk",
            "segment", "buyers", "GPU",     "inference", "on-prem",  "privacy",    "cost",
            "growth",  "vendor", "support", "estimate",  "evidence", "assumption", "therefore",
            "however", "strong", "weak",    "unclear",   "likely",   "recommend",  "the",
            "a",       "of",     "and",     "for",
        };
        constexpr std::size_t word_count = sizeof(words) / sizeof(words[0]);
        const double inv_temperature = 1.0 / std::max(temperature, 0.05);

        logits_.resize(candidates_);
        std::string text;
        std::uint64_t context = rng.next();
        for (int t = 0; t < tokens; ++t) {
            double best = -std::numeric_limits<double>::infinity();
            for (std::size_t c = 0; c < candidates_; ++c) {
                logits_[c] = (to_unit(mix64(context ^ (c * 0x9e3779b97f4a7c15ULL))) * 8.0 - 4.0) *
                             inv_temperature;
                best = std::max(best, logits_[c]);
            }
            double total = 0.0;
            for (double& l : logits_) {
                l = std::exp(l - best);
                total += l;
            }
            double pick = rng.unit() * total;
            std::size_t chosen = candidates_ - 1;
            for (std::size_t c = 0; c < candidates_; ++c) {
                pick -= logits_[c];
                if (pick < 0.0) {
                    chosen = c;
                    break;
                }
            }
            text += words[chosen % word_count];
            text += (t % 16 == 15) ? '\n' : ' ';
            context = mix64(context + chosen);
        }
        return text;
    }

    lstrace::Tracer tracer_ = lstrace::get_tracer("langswarm.llm");
    lstrace::ComponentTracer component_{"llm"};
    int max_requests_per_second_ = 8;
    std::uint64_t seed_;
    std::size_t candidates_;
    int latency_jitter_ms_;
    FailureInjection failure_;
    std::vector<double> logits_;  // reused across calls: decoding should not allocate
};

// ---------------------------------------------------------------------------
// Agents

// Pads `body` to exactly `bytes` bytes: artifacts have a realistic size
// whatever the length of the generated text.
std::string render_artifact(const std::string& heading, const std::string& body, std::size_t bytes)
{
    std::string out = heading;
    out.reserve(std::max(bytes, heading.size()));
    while (out.size() < bytes)
        out += body + "\n";
    out.resize(bytes);
    return out;
}

struct AgentStats {
    int steps = 0;
    int prompt_tokens = 0;
    int completion_tokens = 0;
    int failed_calls = 0;
    int recovered_failures = 0;
};

class Agent {
public:
    Agent(AgentConfig config, const DemoConfig& demo, ModelClient& model, FileTool& files,
          MemoryStore& memory)
        : config_(std::move(config)), demo_(demo), model_(model), files_(files), memory_(memory)
    {}

    // One turn: read the previous artifact, think, write an artifact and
    // remember it.  Returns the name of the artifact written.
    std::string run_step(int step, const std::string& input_artifact)
    {
        auto span = tracer_.trace_operation(
            "agent", "step",
            config_.name + ": step " + std::to_string(step) + " of " + std::to_string(demo_.steps));
        span.set_tag("agent", config_.name);
        span.set_tag("step", step);
        span.set_tag("input", input_artifact);

        const std::string context = files_.read(input_artifact);

        transition(State::thinking, "input artifact loaded");
        const Completion reply = think(step, build_prompt(step, context));

        transition(State::acting, "reply received");
        const std::string output = config_.name + "-step" + std::to_string(step) + ".md";
        files_.write(
            output, render_artifact("# " + config_.name + ", step " + std::to_string(step) + "\n\n",
                                    reply.text, demo_.artifact_bytes));
        // Memory embedding runs on a worker thread; its span joins this
        // step's trace through the propagated context.
        const lstrace::Context ctx = lstrace::Context::current();
        std::thread embedder([&] {
            lstrace::ContextScope joined(ctx);
            memory_.store(output, reply.text);
        });
        embedder.join();

        transition(State::idle, "artifact stored");
        span.set_tag("output", output);
        span.set_tag("completion_tokens", reply.completion_tokens);
        ++stats_.steps;
        return output;
    }

    const AgentConfig& config() const { return config_; }
    const AgentStats& stats() const { return stats_; }

private:
    enum class State { idle, thinking, acting };

    static const char* state_name(State s)
    {
        switch (s) {
        case State::idle:
            return "idle";
        case State::thinking:
            return "thinking";
        case State::acting:
            return "acting";
        }
        return "unknown";
    }

    void transition(State to, const char* reason)
    {
        component_.trace_state_change(state_name(state_), state_name(to), reason);
        state_ = to;
    }

public:
    // The component state LSTRACE_TRACE_METHOD() records.
    std::string trace_state() const { return config_.name + ":" + state_name(state_); }

private:
    std::string build_prompt(int step, const std::string& context) const
    {
        LSTRACE_TRACE_METHOD();
        std::string prompt = "You are the " + config_.name + ". " + config_.role +
                             ".\nTask: " + demo_.task + "\nStep " + std::to_string(step) +
                             ". Previous work:\n" + context.substr(0, demo_.prompt_context_bytes);
        lstrace::data_transformation(context, prompt);
        return prompt;
    }

    // Calls the model, retrying rate-limited calls after the server's
    // Retry-After delay; other errors are not worth retrying.
    Completion think(int step, const std::string& prompt)
    {
        lstrace::ErrorId pending = 0;  // the rate limit being recovered from
        for (int attempt = 1;; ++attempt) {
            try {
                Completion reply = model_.generate(GenerateRequest{config_, step, attempt, prompt});
                if (attempt > 1) {
                    ++stats_.recovered_failures;
                    lstrace::trace_error_recovery(pending, kRateLimitError, "retry_after_backoff",
                                                  true);
                    lstrace::trace_error_resolved(
                        pending, "succeeded on attempt " + std::to_string(attempt));
                }
                stats_.prompt_tokens += reply.prompt_tokens;
                stats_.completion_tokens += reply.completion_tokens;
                return reply;
            } catch (const RateLimitError& e) {
                ++stats_.failed_calls;
                pending = lstrace::trace_error(
                    {kRateLimitError,
                     e.what(),
                     "langswarm.llm",
                     "warning",
                     "rate_limit",
                     {{"agent", config_.name},
                      {"model", config_.model},
                      {"attempt", std::to_string(attempt)},
                      {"retry_after_ms", std::to_string(e.retry_after_ms())}}});
                lstrace::trace_error_handled(pending, "Agent.think");
                if (attempt >= demo_.max_attempts) {
                    lstrace::trace_error_escalated(pending, "out of attempts");
                    throw;
                }
                back_off(attempt, e);
            }
        }
    }

    void back_off(int failed_attempt, const RateLimitError& error)
    {
        auto span = tracer_.trace_operation("agent", "retry_backoff",
                                            config_.name + ": waiting before retrying");
        span.set_tag("agent", config_.name);
        span.set_tag("failed_attempt", failed_attempt);
        span.set_tag("retry_reason", kRateLimitError);
        span.set_tag("delay_ms", error.retry_after_ms());
        sleep_ms(error.retry_after_ms());
    }

    lstrace::Tracer tracer_ = lstrace::get_tracer("langswarm.agent");
    lstrace::ComponentTracer component_{"agent"};
    AgentConfig config_;
    const DemoConfig& demo_;
    ModelClient& model_;
    FileTool& files_;
    MemoryStore& memory_;
    State state_ = State::idle;
    AgentStats stats_;
};

// ---------------------------------------------------------------------------
// Orchestrator: runs the agents round-robin, each one handing its artifact
// to the next.

class Orchestrator {
public:
    Orchestrator(const DemoConfig& config, const std::string& workdir)
        : config_(config),
          files_(workdir, config.write_chunk_bytes),
          memory_(config.memory_bytes_per_entry, config.embedding_dim),
          model_(config)
    {
        for (const AgentConfig& agent : config.agents)
            agents_.emplace_back(agent, config_, model_, files_, memory_);
    }
    // Agents hold references to the members.
    Orchestrator(const Orchestrator&) = delete;
    Orchestrator& operator=(const Orchestrator&) = delete;

    void run_workflow()
    {
        auto span = tracer_.trace_operation("orchestrator", "run_workflow",
                                            "Running workflow " + config_.workflow);
        span.set_tag("workflow", config_.workflow);
        span.set_tag("agents", agents_.size());
        span.set_tag("steps", config_.steps);
        span.set_tag("seed", config_.seed);

        // The brief is the first agent's input.
        std::string artifact = "brief.md";
        files_.write(artifact, render_artifact("# Brief: " + config_.workflow + "\n\n",
                                               config_.task, config_.artifact_bytes));
        for (int step = 1; step <= config_.steps; ++step)
            for (Agent& agent : agents_)
                artifact = agent.run_step(step, artifact);

        span.set_tag("final_artifact", artifact);
        span.set_tag("recovered_failures", recovered_failures());
    }

    int recovered_failures() const
    {
        int n = 0;
        for (const auto& agent : agents_)
            n += agent.stats().recovered_failures;
        return n;
    }

    void print_summary() const
    {
        std::printf("workflow %s (seed %llu)\n", config_.workflow.c_str(),
                    static_cast<unsigned long long>(config_.seed));
        for (const auto& agent : agents_) {
            const AgentStats& s = agent.stats();
            std::printf(
                "  %-12s %-20s steps=%d prompt_tokens=%d completion_tokens=%d failed_calls=%d\n",
                agent.config().name.c_str(), agent.config().model.c_str(), s.steps, s.prompt_tokens,
                s.completion_tokens, s.failed_calls);
        }
        const FileStats& f = files_.stats();
        constexpr double mib = 1024.0 * 1024.0;
        std::printf(
            "  files: %d written (%.1f MiB), %d read (%.1f MiB); memory: %zu entries (%.1f MiB)\n",
            f.files_written, static_cast<double>(f.bytes_written) / mib, f.files_read,
            static_cast<double>(f.bytes_read) / mib, memory_.entries(),
            static_cast<double>(memory_.total_bytes()) / mib);
        const int recovered = recovered_failures();
        std::printf("demo: %zu agents x %d steps done, %d injected failure%s recovered\n",
                    agents_.size(), config_.steps, recovered, recovered == 1 ? "" : "s");
    }

private:
    lstrace::Tracer tracer_ = lstrace::get_tracer("langswarm.orchestrator");
    const DemoConfig& config_;
    FileTool files_;
    MemoryStore memory_;
    ModelClient model_;
    std::vector<Agent> agents_;
};

}  // namespace
}  // namespace langswarm_demo

int main(int argc, char** argv)
{
    using namespace langswarm_demo;
    if (argc > 2) {
        std::fprintf(stderr, "usage: %s [config.json]\n", argv[0]);
        return 2;
    }
    try {
        const DemoConfig config = load_config(argc > 1 ? argv[1] : default_config_path());
        const TempDir workdir;  // removed on the way out, also on errors
        Orchestrator orchestrator(config, workdir.path());
        orchestrator.run_workflow();
        orchestrator.print_summary();
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "langswarm_demo: %s\n", e.what());
        return 1;
    }
}
