// A deterministic, wide set of span and event records for the trace
// format's golden tests: every field, every flag, each tag type, errors,
// aborted spans, ids of 0, extreme figures, and strings with quotes,
// control characters, valid and invalid UTF-8 and cut names.  The same seed
// gives the same records on every machine (no std:: distributions, whose
// results are implementation-defined).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "correlate/span_record.hpp"

namespace lstrace::testing {

// splitmix64: small, fast, the same everywhere.
class CorpusRandom {
public:
    explicit CorpusRandom(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next();
    std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
    bool chance(unsigned percent) { return below(100) < percent; }

private:
    std::uint64_t state_;
};

// A string drawn from names, prose, escapes, control characters, UTF-8
// (valid and not), secrets of every shape the redactor knows, and lengths
// up to `max_len` bytes.
std::string corpus_string(CorpusRandom& rnd, std::size_t max_len = 255);

// Record `index` of the corpus of `seed`: records of one seed and index are
// always the same.
SpanRecord corpus_span(std::uint64_t seed, std::size_t index);
EventRecord corpus_event(std::uint64_t seed, std::size_t index);

// Realtime offsets the golden lines are formatted with, in turn.
std::int64_t corpus_offset(std::size_t index);

}  // namespace lstrace::testing
