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
    for (const char* key :
         {"api_key", "OPENAI_API_KEY", "openaiApiKey", "x-api-key", "token", "access_token",
          "client_secret", "db.password", "Authorization", "passwd", "session_cookie"})
        CHECK(r.key_is_secret(key));
    for (const char* key :
         {"prompt_tokens", "completion_tokens", "model", "keyboard", "secretary_name", "author"})
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
    CHECK(scrubbed("my_token=abc", 1) == "my_token=[REDACTED]");  // compound keys are keys too
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

// Real-world shapes of credentials in descriptions, tags and error messages.
// Each must lose its secret (and only the secret's surroundings stay).
TEST_CASE("redaction table: real secret shapes are all replaced", "[redact]")
{
    struct Case {
        const char* text;
        const char* secret;
    };
    const Case cases[] = {
        {"connecting with db_password=hunter2", "hunter2"},
        {"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"},
        {"aws_access_key_id=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"},
        {"client_secret=8f3c2b1a9d", "8f3c2b1a9d"},
        {"GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdef"},
        {"OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx", "sk-proj-abc"},
        {"refresh_token=1//0gLk3Yz", "1//0gLk3Yz"},
        {"MYSQL_PWD=s3cr3t mysql -u root", "s3cr3t"},
        {"PGPASSWORD=pgpw psql", "pgpw"},
        {"X-API-Key: 0123abcd", "0123abcd"},
        {"x-api-key:0123abcd", "0123abcd"},
        {"Cookie: sid=31d4d96e407aad42; theme=dark", "31d4d96e407aad42"},
        {"Set-Cookie: session=abc123; HttpOnly", "abc123"},
        {"{\"db_password\":\"pw\"}", "pw\""},
        {"{\"api_key\": \"sk-123\", \"model\": \"m\"}", "sk-123"},
        {"{\\\"password\\\":\\\"escaped\\\"}", "escaped"},
        {"token:\tx9y8z7", "x9y8z7"},
        {"password = spaced-out", "spaced-out"},
        {"password=\"correct horse battery staple\"", "horse"},
        {"postgres://user:pgsecret@db.internal:5432/app", "pgsecret"},
        {"mysql://root:rootpw@localhost/test", "rootpw"},
        {"redis://:redispw@cache:6379/0", "redispw"},
        {"https://bob:tok123@github.com/org/repo.git", "tok123"},
        {"mycli --password hunter3 --verbose", "hunter3"},
        {"mycli --api-key=k3y --verbose", "k3y"},
        {"deploy --token t0k3n", "t0k3n"},
        {"Authorization: Bearer abc.def-ghi", "abc.def-ghi"},
        {"authorization: basic dXNlcjpwYXNz", "dXNlcjpwYXNz"},
        {"Proxy-Authorization: Digest abcdef", "abcdef"},
        {"sent header Bearer eyJhbGci", "eyJhbGci"},
        {"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.SflKxwRJSMeKKF2QT4fw", "SflKxwRJ"},
        {"key sk-ant-api03-abcdefghijklmnopqrstuvwxyz rejected", "sk-ant-api03"},
        {"stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWD"},
        {"slack xoxb-123456789012-abcdefghij", "xoxb-1234"},
        {"google AIzaSyA-abcdefghijklmnopqrstuvwxyz12345", "AIzaSyA"},
        {"hf token hf_abcdefghijklmnopqrstuvwxyzABCDEF", "hf_abcdef"},
        {"gitlab glpat-abcdefghijklmnopqrst", "glpat-abc"},
        {"pat github_pat_11ABCDEFG0abcdefghijklmnopqrstuvwxyz", "github_pat_11"},
        {"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
         "MIIEowIBAAKCAQEA"},
        {"GET /v1?access_token=qwerty&page=2", "qwerty"},
        {"url?X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027&X-Amz-Credential=AKID/2024",
         "fe5f80f77d"},
        {"sessionid=7hx0a1", "7hx0a1"},
        {"JSESSIONID=A1B2C3D4", "A1B2C3D4"},
        {"passphrase: open sesame", "open"},
        {"private_key='line1'", "line1"},
        {"credentials=user:pass", "user:pass"},
        {"config {'secret_key': 'django-insecure-1'}", "django-insecure-1"},
        {"openaiApiKey=sk-short", "sk-short"},
        {"ANTHROPIC_API_KEY=\"sk-ant-x\"", "sk-ant-x"},
        {"auth=admin:admin123", "admin123"},
    };
    STATIC_REQUIRE(sizeof(cases) / sizeof(cases[0]) >= 40);
    const Redactor r;
    for (const Case& c : cases) {
        std::string text = c.text;
        const int n = r.scrub(text);
        INFO(c.text << " -> " << text);
        CHECK(n >= 1);
        CHECK(text.find(c.secret) == std::string::npos);
        CHECK(text.find(kRedacted) != std::string::npos);
    }
}

// Look-alikes that carry no secret and must come out unchanged (decisions
// documented in docs/records.md, "Redaction").
TEST_CASE("redaction table: harmless look-alikes are kept", "[redact]")
{
    const char* const harmless[] = {
        "token_count=12",
        "max_tokens=256",
        "prompt_tokens: 30, completion_tokens: 12",
        "tokens=5",
        "tokenizer=cl100k_base",
        "password_length=16",
        "token_type=bearer",
        "expires_in=3600",
        "secretary=Alice",
        "author: Bob",
        "keyboard=us",
        "api_version=2023-05-15",
        "wrong password, try again",
        "token expired at 12:00",
        "password reset email sent to bob@example.com",
        "https://example.com:8080/path?page=2",
        "ssh://git@github.com/org/repo",
        "task-123 is at risk-free level",
        "monkey=3 turkey: yes",
        "commit 3f2a9c1e5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a",
        "request 550e8400-e29b-41d4-a716-446655440000",
        "tokens_per_minute=90000",
        "secret_count=3",
        "credential_type=oauth",
        "passwordless=true",
        "skipped sk-1 (too short to be a key)",
    };
    STATIC_REQUIRE(sizeof(harmless) / sizeof(harmless[0]) >= 20);
    const Redactor r;
    for (const char* h : harmless) {
        std::string text = h;
        INFO(h << " -> " << text);
        CHECK(r.scrub(text) == 0);
        CHECK(text == h);
    }
}
