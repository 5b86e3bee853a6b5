// The writer thread changes where records are formatted, not what the
// file holds: the same records written inline and threaded, in every
// output format, give the same bytes in the same order.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "output/record_writer.hpp"
#include "output/trace_output.hpp"
#include "unit/file_text.hpp"
#include "unit/record_corpus.hpp"

using namespace lstrace;
using namespace lstrace::testing;

namespace {

// A mix of spans, events and process_info records from the golden corpus,
// handed over at uneven points, written to a file; its text.
std::string write_corpus(OutputFormat format, bool threaded, std::size_t records)
{
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("record-writer-" + std::to_string(::getpid()) + "-" +
                               (threaded ? "threaded" : "inline") + ".out"))
                                 .string();
    TracingConfig config;
    config.output_format = format;
    config.flush_interval = 7;
    {
        TraceOutput out(path, /*overwrite=*/true, /*recording=*/true);
        RecordWriter writer(config, out, corpus_offset(0), threaded);
        for (std::size_t i = 0; i < records; ++i) {
            if (i % 5 == 4) {
                EventRecord e = corpus_event(12, i);
                if (i % 25 == 24) {
                    e.record_type = "process_info";
                    e.details_json = R"({"pid":)" + std::to_string(e.tgid) + "}";
                    writer.process_info(e);
                } else {
                    writer.event(e);
                }
            } else {
                writer.span(corpus_span(12, i));
            }
            if (i % 97 == 0)
                writer.hand_over();
        }
        writer.finish();
        out.commit();
    }
    std::string text = read_file(path);
    std::remove(path.c_str());
    return text;
}

}  // namespace

TEST_CASE("records written by the writer thread are the bytes written inline", "[output]")
{
    for (OutputFormat format : {OutputFormat::jsonl, OutputFormat::json, OutputFormat::text}) {
        INFO("format " << static_cast<int>(format));
        const std::string inline_text = write_corpus(format, false, 3000);
        const std::string threaded_text = write_corpus(format, true, 3000);
        CHECK(inline_text.size() > 3000 * 100);
        CHECK(threaded_text == inline_text);
    }
}

TEST_CASE("a writer destroyed without finish() still writes what it was given", "[output]")
{
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("record-writer-unfinished-" + std::to_string(::getpid())))
                                 .string();
    TracingConfig config;
    {
        TraceOutput out(path, /*overwrite=*/true, /*recording=*/true);
        {
            RecordWriter writer(config, out, 0, /*threaded=*/true);
            for (std::size_t i = 0; i < 1000; ++i)
                writer.span(corpus_span(3, i));
        }
        out.commit();
    }
    const std::string text = read_file(path);
    std::remove(path.c_str());
    CHECK(std::count(text.begin(), text.end(), '\n') == 1000);
}
