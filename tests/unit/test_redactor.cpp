#include <catch2/catch.hpp>

#include <string>

#include "output/redactor.hpp"

using namespace lstrace;

namespace {

std::string scrubbed(std::string text, int expected_count = -1)
{
    const int n = Redactor().scrub(text);
    if (expected_count >= 0)
        CHECK(n == expected_count);
    return text;
}

}  // namespace

TEST_CASE("identifiers split into lower-case words", "[redact]")
{
    CHECK(key_words("openaiApiKey") == std::vector<std::string>{"openai", "api", "key"});
    CHECK(key_words("X-Api-Key") == std::vector<std::string>{"x", "api", "key"});
    CHECK(key_words("prompt_tokens") == std::vector<std::string>{"prompt", "tokens"});
    CHECK(key_words("HTTP.Authorization") == std::vector<std::string>{"http", "authorization"});
}

TEST_CASE("secret-looking tag keys are recognised by words, not substrings", "[redact]")
{
    const Redactor r;
    for (const char* key : {"api_key", "OPENAI_API_KEY", "openaiApiKey", "x-api-key", "token",
                            "access_token", "client_secret", "db.password", "Authorization",
                            "passwd", "session_cookie"})
        CHECK(r.key_is_secret(key));
    for (const char* key : {"prompt_tokens", "completion_tokens", "model", "keyboard",
                            "secretary_name", "author"})
        CHECK_FALSE(r.key_is_secret(key));
    CHECK(Redactor({"customer_ssn"}).key_is_secret("customer_ssn"));
    CHECK_FALSE(r.key_is_secret("customer_ssn"));
}

TEST_CASE("secrets inside free text are replaced, the rest is kept", "[redact]")
{
    CHECK(scrubbed("login failed: password=hunter2 for bob", 1) ==
          "login failed: password=[REDACTED] for bob");
    CHECK(scrubbed("Authorization: Bearer abc.def-ghi", 1) == "Authorization: Bearer [REDACTED]");
    CHECK(scrubbed("curl -H 'Authorization: Basic dXNlcjpw'", 1) ==
          "curl -H 'Authorization: Basic [REDACTED]'");
    CHECK(scrubbed("{\"api_key\": \"sk-123\", \"model\": \"m\"}", 1) ==
          "{\"api_key\": \"[REDACTED]\", \"model\": \"m\"}");
    CHECK(scrubbed("GET /v1?token=xyz&page=2", 1) == "GET /v1?token=[REDACTED]&page=2");
    CHECK(scrubbed("TOKEN: a TOKEN: b", 2) == "TOKEN: [REDACTED] TOKEN: [REDACTED]");
    CHECK(scrubbed("used 128 tokens, no secrets here", 0) == "used 128 tokens, no secrets here");
    CHECK(scrubbed("my_token=abc", 0) == "my_token=abc");  // inside a longer word: a name, kept
    CHECK(scrubbed("password=", 0) == "password=");
}

TEST_CASE("a record is redacted in tags, description and error messages", "[redact]")
{
    SpanRecord rec;
    rec.description = "calling with api_key=sk-live-1";
    rec.tags = {{"api_key", std::string("sk-live-1")},
                {"retries", std::int64_t{3}},
                {"password_hash_rounds", std::int64_t{12}},
                {"header", std::string("Bearer t0k")}};
    rec.errors = {{"AuthError", "token=t0k rejected"}};
    CHECK(Redactor().apply(rec) == 5);
    CHECK(rec.description == "calling with api_key=[REDACTED]");
    CHECK(std::get<std::string>(rec.tags[0].value) == kRedacted);
    CHECK(std::get<std::int64_t>(rec.tags[1].value) == 3);
    CHECK(std::get<std::string>(rec.tags[2].value) == kRedacted);  // a password-ish key: redacted
    CHECK(std::get<std::string>(rec.tags[3].value) == "Bearer [REDACTED]");
    CHECK(rec.errors[0].message == "token=[REDACTED] rejected");
}
