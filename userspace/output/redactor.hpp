// Secret redaction.  LLM applications put credentials in tags and error
// messages; a trace file is the wrong place for them.  The rules (and the
// decisions on look-alikes) are in docs/records.md, "Redaction":
//   - a tag whose key names a secret (api_key, token, secret, password,
//     pwd, cookie, credential, ... plus --redact-keys) has its value replaced;
//   - inside any string the recorder writes (description, string tags,
//     error messages), a secret key's value is replaced in every form it
//     takes there: key=value, key: value (tabs too), "key": "value" (JSON,
//     also escaped), Header-Name: value (Cookie: the whole line), --flag
//     value and --flag=value, Bearer/Basic value, the password of
//     scheme://user:password@host, and credentials of a known shape
//     (sk-..., ghp_..., AKIA..., xoxb-..., JWTs, PEM private keys, ...)
//     wherever they stand.
// Keys are compared by words, case-insensitively, splitting on _ - . space
// and camelCase: "openaiApiKey", "X-Api-Key" and "GITHUB_TOKEN" match, while
// "prompt_tokens" (a count, not a token) does not match token, and a key
// whose last word is a measure (token_count, password_length, token_type)
// names a figure about a secret, not the secret.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "correlate/span_record.hpp"

namespace lstrace {

inline constexpr const char* kRedacted = "[REDACTED]";

// Not thread-safe (it caches its verdicts on keys): one per thread.
class Redactor {
public:
    // The default key list plus `extra_keys`.
    explicit Redactor(const std::vector<std::string>& extra_keys = {});

    // Redacts the record in place; returns how many values were replaced.
    int apply(SpanRecord& record) const;
    int apply(EventRecord& record) const;

    bool key_is_secret(const std::string& key) const;
    // Replaces secret values inside free text; returns how many.
    int scrub(std::string& text) const;

private:
    int apply_tags(std::vector<Tag>& tags) const;
    bool judge_key(const std::string& key) const;

    static constexpr std::size_t kKeyCacheSize = 4096;
    std::vector<std::vector<std::string>> key_patterns_;       // each a word sequence
    mutable std::unordered_map<std::string, bool> key_cache_;  // key_is_secret's verdicts
};

// Lower-case words of an identifier: "openaiApiKey" -> {openai, api, key}.
std::vector<std::string> key_words(const std::string& key);

}  // namespace lstrace
