#include "report/report_html.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <utility>
#include <vector>

#include "analysis/trace_analyzer.hpp"
#include "output/trace_output.hpp"

namespace lstrace {
namespace {

constexpr const char* kPlaceholder = "/*LSTRACE_TRACE_DATA*/";

}  // namespace

std::string render_report(const nlohmann::json& data)
{
    return render_report_json(data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string render_report_json(const std::string& json)
{
    // Inside <script>, "</script" ends the element and "<!--" starts an
    // escaped state in which a later "<script>" swallows the page's own
    // "</script>" (HTML's script data states).  '<', '>' and '&' occur in
    // JSON only inside strings, where \u003c is the same string: no markup
    // can be written into the page.
    std::string escaped;
    escaped.reserve(json.size());
    for (const char c : json) {
        if (c == '<')
            escaped += "\\u003c";
        else if (c == '>')
            escaped += "\\u003e";
        else if (c == '&')
            escaped += "\\u0026";
        else
            escaped += c;
    }
    std::string page = report_template();
    const std::size_t at = page.find(kPlaceholder);
    page.replace(at, std::char_traits<char>::length(kPlaceholder), escaped);
    return page;
}

}  // namespace lstrace
