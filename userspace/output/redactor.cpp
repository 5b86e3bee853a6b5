#include "output/redactor.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace lstrace {
namespace {

const char* const kDefaultKeys[] = {
    "api_key", "apikey",      "token",         "secret",        "password", "passwd",
    "pwd",     "authorization", "credential",  "credentials",   "private_key", "cookie",
    "session_key", "access_key", "client_secret",
};

// Words that, followed by ':' or '=', introduce a secret in free text.
const char* const kTextMarkers[] = {"api_key", "apikey", "token", "secret", "password",
                                    "passwd", "authorization", "access_key", "private_key"};

bool is_value_end(char c)
{
    return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == ',' ||
           c == ';' || c == '&' || c == '}' || c == ')' || c == ']';
}

bool is_word_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

bool starts_with_ci(const std::string& text, std::size_t at, std::string_view word)
{
    if (at + word.size() > text.size())
        return false;
    for (std::size_t k = 0; k < word.size(); ++k)
        if (std::tolower(static_cast<unsigned char>(text[at + k])) != word[k])
            return false;
    return true;
}

std::size_t skip_quotes_and_spaces(const std::string& text, std::size_t at)
{
    while (at < text.size() && (text[at] == ' ' || text[at] == '"' || text[at] == '\''))
        ++at;
    return at;
}

// Where a secret value starts when a marker begins at text[at]: after
// "Bearer ", or after "<marker>" ":"/"=" (quotes and spaces allowed around
// them); npos when there is none.
std::size_t secret_value_start(const std::string& text, std::size_t at)
{
    if (at > 0 && is_word_char(text[at - 1]))
        return std::string::npos;  // inside a longer word
    if (starts_with_ci(text, at, "bearer "))
        return skip_quotes_and_spaces(text, at + 7);
    for (const char* marker : kTextMarkers) {
        const std::string_view m(marker);
        if (!starts_with_ci(text, at, m))
            continue;
        std::size_t v = skip_quotes_and_spaces(text, at + m.size());
        if (v >= text.size() || (text[v] != '=' && text[v] != ':'))
            continue;
        v = skip_quotes_and_spaces(text, v + 1);
        // "Authorization: Bearer abc": the secret is abc
        for (std::string_view scheme : {"bearer ", "basic ", "token "})
            if (starts_with_ci(text, v, scheme))
                return skip_quotes_and_spaces(text, v + scheme.size());
        return v;
    }
    return std::string::npos;
}

// Replaces text[from, end of value) with the marker; returns the index after it.
std::size_t redact_value_at(std::string& text, std::size_t from)
{
    std::size_t end = from;
    while (end < text.size() && !is_value_end(text[end]))
        ++end;
    if (end == from)
        return from;
    text.replace(from, end - from, kRedacted);
    return from + std::char_traits<char>::length(kRedacted);
}

}  // namespace

std::vector<std::string> key_words(const std::string& key)
{
    std::vector<std::string> words;
    std::string word;
    for (std::size_t i = 0; i < key.size(); ++i) {
        const char c = key[i];
        const bool upper = std::isupper(static_cast<unsigned char>(c));
        if (!std::isalnum(static_cast<unsigned char>(c)) ||
            (upper && i > 0 && std::islower(static_cast<unsigned char>(key[i - 1])))) {
            if (!word.empty())
                words.push_back(word);
            word.clear();
            if (!std::isalnum(static_cast<unsigned char>(c)))
                continue;
        }
        word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    if (!word.empty())
        words.push_back(word);
    return words;
}

Redactor::Redactor(const std::vector<std::string>& extra_keys)
{
    for (const char* k : kDefaultKeys)
        key_patterns_.push_back(key_words(k));
    for (const std::string& k : extra_keys)
        if (auto words = key_words(k); !words.empty())
            key_patterns_.push_back(std::move(words));
}

bool Redactor::key_is_secret(const std::string& key) const
{
    const auto words = key_words(key);
    for (const auto& pattern : key_patterns_)
        if (std::search(words.begin(), words.end(), pattern.begin(), pattern.end()) !=
            words.end())
            return true;
    return false;
}

int Redactor::scrub(std::string& text) const
{
    int count = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t value = secret_value_start(text, i);
        if (value == std::string::npos) {
            ++i;
            continue;
        }
        const std::size_t after = redact_value_at(text, value);
        if (after != value)
            ++count;
        i = std::max(after, i + 1);
    }
    return count;
}

int Redactor::apply_tags(std::vector<Tag>& tags) const
{
    int count = 0;
    for (Tag& t : tags) {
        if (key_is_secret(t.key)) {
            t.value = std::string(kRedacted);
            ++count;
        } else if (auto* s = std::get_if<std::string>(&t.value)) {
            count += scrub(*s);
        }
    }
    return count;
}

int Redactor::apply(SpanRecord& r) const
{
    int count = scrub(r.description) + apply_tags(r.tags);
    for (SpanError& e : r.errors)
        count += scrub(e.message);
    return count;
}

int Redactor::apply(EventRecord& r) const
{
    // config_change values and error contexts are where secrets show up;
    // their keys ("key": "api_key") are checked like tag keys
    int count = scrub(r.description) + apply_tags(r.tags);
    if (r.record_type == "config_change") {
        const Tag* key = nullptr;
        for (const Tag& t : r.tags)
            if (t.key == "key")
                key = &t;
        const auto* name = key ? std::get_if<std::string>(&key->value) : nullptr;
        if (name && key_is_secret(*name))
            for (Tag& t : r.tags)
                if (t.key == "old_value" || t.key == "new_value") {
                    t.value = std::string(kRedacted);
                    ++count;
                }
    }
    return count;
}

}  // namespace lstrace
