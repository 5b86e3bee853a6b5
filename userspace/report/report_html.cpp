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
    std::string escaped;
    escaped.reserve(json.size());
    for (std::size_t i = 0; i < json.size(); ++i) {
        if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/')
            escaped += "<\\";  // "<\/" is the same JSON string, and no "</script>"
        else
            escaped += json[i];
    }
    std::string page = report_template();
    const std::size_t at = page.find(kPlaceholder);
    page.replace(at, std::char_traits<char>::length(kPlaceholder), escaped);
    return page;
}

}  // namespace lstrace
