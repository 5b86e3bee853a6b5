#include "output/redactor.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "nlohmann/json.hpp"

namespace lstrace {
namespace {

const char* const kDefaultKeys[] = {
    "api_key",     "apikey",      "token",      "secret",        "password",      "passwd",
    "pwd",         "pgpassword",  "passphrase", "authorization", "auth",          "credential",
    "credentials", "private_key", "cookie",     "session_key",   "sessionid",     "session_id",
    "jsessionid",  "phpsessid",   "access_key", "secret_key",    "client_secret", "signature",
};

// A key whose last word is one of these names a figure about a secret, not
// the secret: token_count=12, password_length=16, token_type=bearer.
const char* const kMeasureWords[] = {"count",   "counts",     "length", "len",    "size",
                                     "limit",   "limits",     "type",   "ttl",    "expiry",
                                     "expires", "expiration", "usage",  "used",   "remaining",
                                     "budget",  "min",        "max",    "policy", "version"};

// Credentials recognisable by their shape alone, wherever they appear: the
// prefix, then at least `min_tail` characters of [A-Za-z0-9_-].
struct SecretShape {
    std::string_view prefix;
    std::size_t min_tail;
};
constexpr SecretShape kSecretShapes[] = {
    {"sk-", 20},       // OpenAI, Anthropic (sk-ant-...), DeepSeek
    {"sk_live_", 16},  // Stripe secret keys
    {"rk_live_", 16},  // Stripe restricted keys
    {"ghp_", 30},      // GitHub tokens: personal, OAuth, user, server, refresh
    {"gho_", 30},     {"ghu_", 30},        {"ghs_", 30},
    {"ghr_", 30},     {"github_pat_", 30},  // GitHub fine-grained tokens
    {"glpat-", 20},                         // GitLab
    {"AKIA", 16},                           // AWS access key ids
    {"ASIA", 16},                           // AWS temporary access key ids
    {"AIza", 30},                           // Google API keys
    {"xoxb-", 10},                          // Slack bot, user, app, refresh tokens
    {"xoxp-", 10},    {"xoxa-", 10},       {"xoxr-", 10},
    {"xapp-", 10},    {"hf_", 30},  // Hugging Face
    {"npm_", 30},                   // npm
    {"pypi-", 30},                  // PyPI
    {"SG.", 20},                    // SendGrid
    {"eyJ", 20},                    // JWTs (base64url of '{"')
};

// The recorder never sets a locale: <cctype>'s classes are the "C" ones,
// which a table answers without a call per byte (scrub() looks at every byte
// of every string the recorder writes).
constexpr bool ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

struct WordChars {
    bool table[256] = {};
    constexpr WordChars()
    {
        for (int c = 0; c < 256; ++c)
            table[c] =
                ascii_alnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    }
};
constexpr WordChars kWordChars;

bool is_word_char(char c)
{
    return kWordChars.table[static_cast<unsigned char>(c)];
}

bool is_token_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == '/' || c == '+' || c == '=';
}

bool is_quote(char c)
{
    return c == '"' || c == '\'' || c == '`';
}

// Ends an unquoted value: whitespace (tabs and newlines too) and the
// punctuation that closes a field in JSON, URLs, headers and argument lists.
bool is_value_end(char c)
{
    return std::isspace(static_cast<unsigned char>(c)) || is_quote(c) || c == ',' || c == ';' ||
           c == '&' || c == '}' || c == ')' || c == ']' || c == '\\';
}

bool starts_with_ci(std::string_view text, std::size_t at, std::string_view word)
{
    if (at + word.size() > text.size())
        return false;
    for (std::size_t k = 0; k < word.size(); ++k)
        if (std::tolower(static_cast<unsigned char>(text[at + k])) !=
            std::tolower(static_cast<unsigned char>(word[k])))
            return false;
    return true;
}

std::size_t skip_blanks(std::string_view text, std::size_t at)
{
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t'))
        ++at;
    return at;
}

// A value to replace: [begin, end).
struct Span {
    std::size_t begin = std::string::npos, end = std::string::npos;
    bool found() const { return begin != std::string::npos && end > begin; }
};

// The value starting at `at`: to the closing quote when it opens with one,
// else to the first is_value_end(); `to_line_end` for header values that
// hold several pairs (Cookie: a=1; b=2).  An authorization scheme ("Bearer
// x", "Basic x") is kept, its credential is the value.
Span value_at(std::string_view text, std::size_t at, bool to_line_end)
{
    at = skip_blanks(text, at);
    char quote = 0;
    if (at < text.size() && text[at] == '\\' && at + 1 < text.size() && is_quote(text[at + 1]))
        ++at;  // an escaped quote (JSON inside a string)
    if (at < text.size() && is_quote(text[at]))
        quote = text[at++];
    for (std::string_view scheme : {"bearer ", "basic ", "token ", "digest ", "negotiate "})
        if (starts_with_ci(text, at, scheme))
            at = skip_blanks(text, at + scheme.size());
    std::size_t end = at;
    if (quote) {
        while (end < text.size() && text[end] != quote && text[end] != '\n')
            ++end;
        if (end > at && text[end - 1] == '\\')
            --end;
    } else if (to_line_end) {
        while (end < text.size() && text[end] != '\n' && text[end] != '\r')
            ++end;
    } else {
        while (end < text.size() && !is_value_end(text[end]))
            ++end;
    }
    return {at, end};
}

// A credential of a known shape starting at `at` (at a word start).
// The first characters of the shapes' prefixes (and of "-----BEGIN"):
// most words start with none of them.
struct ShapeStarts {
    bool table[256] = {};
    constexpr ShapeStarts()
    {
        for (const SecretShape& shape : kSecretShapes)
            table[static_cast<unsigned char>(shape.prefix[0])] = true;
        table[static_cast<unsigned char>('-')] = true;
    }
};
constexpr ShapeStarts kShapeStarts;

Span shaped_secret_at(std::string_view text, std::size_t at)
{
    if (!kShapeStarts.table[static_cast<unsigned char>(text[at])])
        return {};
    for (const SecretShape& shape : kSecretShapes) {
        if (shape.prefix[0] != text[at] || text.compare(at, shape.prefix.size(), shape.prefix) != 0)
            continue;
        std::size_t end = at + shape.prefix.size();
        while (end < text.size() && is_token_char(text[end]))
            ++end;
        if (end - at - shape.prefix.size() >= shape.min_tail)
            return {at, end};
    }
    if (text.compare(at, 10, "-----BEGIN") == 0) {
        const std::size_t header_end = text.find("-----", at + 10);
        if (header_end != std::string::npos &&
            text.substr(at, header_end - at).find("PRIVATE KEY") != std::string::npos) {
            const std::size_t end_marker = text.find("-----END", header_end + 5);
            const std::size_t end =
                end_marker == std::string::npos ? text.size() : text.find("-----", end_marker + 8);
            return {at, end == std::string::npos ? text.size() : end + 5};
        }
    }
    return {};
}

// URL userinfo: the password of scheme://user:password@host.
Span url_password_at(std::string_view text, std::size_t authority)
{
    std::size_t end = authority;
    while (end < text.size() && text[end] != '/' && text[end] != '?' && text[end] != '#' &&
           !std::isspace(static_cast<unsigned char>(text[end])) && !is_quote(text[end]))
        ++end;
    const std::size_t at_sign = text.substr(authority, end - authority).rfind('@');
    if (at_sign == std::string::npos)
        return {};
    const std::size_t colon = text.substr(authority, at_sign).find(':');
    if (colon == std::string::npos)
        return {};
    return {authority + colon + 1, authority + at_sign};
}

std::size_t replace_span(std::string& text, const Span& span)
{
    text.replace(span.begin, span.end - span.begin, kRedacted);
    return span.begin + std::char_traits<char>::length(kRedacted);
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
    // The same few keys come with every span: each is judged once (up to a
    // bound, so a stream of distinct keys cannot grow the cache forever).
    if (const auto it = key_cache_.find(key); it != key_cache_.end())
        return it->second;
    const bool secret = judge_key(key);
    if (key_cache_.size() < kKeyCacheSize)
        key_cache_.emplace(key, secret);
    return secret;
}

bool Redactor::judge_key(const std::string& key) const
{
    const auto words = key_words(key);
    if (words.size() > 1 && std::any_of(std::begin(kMeasureWords), std::end(kMeasureWords),
                                        [&](const char* m) { return words.back() == m; }))
        return false;
    for (const auto& pattern : key_patterns_)
        if (std::search(words.begin(), words.end(), pattern.begin(), pattern.end()) != words.end())
            return true;
    return false;
}

int Redactor::scrub(std::string& text) const
{
    int count = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        const bool word_start = i == 0 || !is_word_char(text[i - 1]);
        if (!word_start || !(is_word_char(text[i]))) {
            ++i;
            continue;
        }
        if (const Span shaped = shaped_secret_at(text, i); shaped.found()) {
            i = replace_span(text, shaped);
            ++count;
            continue;
        }
        // An identifier: a key (db_password=, "api_key":, X-Api-Key:,
        // --password x), a URL scheme, a "Bearer" or a plain word.
        std::size_t end = i;
        while (end < text.size() && is_word_char(text[end]))
            ++end;
        const std::string_view word(text.data() + i, end - i);
        Span value;
        if (text.compare(end, 3, "://") == 0) {
            value = url_password_at(text, end + 3);
            if (!value.found())
                end += 3;
        } else if (word.size() == 6 && starts_with_ci(word, 0, "bearer")) {
            if (end < text.size() && (text[end] == ' ' || text[end] == '\t'))
                value = value_at(text, end, false);
        } else {
            std::size_t sep = end;
            while (sep < text.size() && (is_quote(text[sep]) || text[sep] == '\\'))
                ++sep;
            sep = skip_blanks(text, sep);
            const bool pair = sep < text.size() && (text[sep] == '=' || text[sep] == ':');
            const bool flag = word[0] == '-' && sep > end && sep < text.size();
            // (the key is looked at only where a value follows: this runs
            // on every word of every string the recorder writes)
            if ((pair || flag) && key_is_secret(std::string(word))) {
                // Cookie headers hold several pairs: all of the line goes
                const auto words = key_words(std::string(word));
                const bool header = std::find(words.begin(), words.end(), "cookie") != words.end();
                value = pair ? value_at(text, sep + 1, header && text[sep] == ':')
                             : value_at(text, sep, false);
            }
        }
        if (value.found()) {
            i = replace_span(text, value);
            ++count;
        } else {
            i = end;
        }
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
        } else if (auto* j = std::get_if<JsonText>(&t.value)) {
            // a pattern that spans JSON syntax could leave it invalid: then
            // the whole value goes
            const int n = scrub(j->text);
            if (n > 0 && !nlohmann::json::accept(j->text))
                t.value = std::string(kRedacted);
            count += n;
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
