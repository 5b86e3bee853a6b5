#include "commands/compare.hpp"

#include <cstdio>

#include "analysis/trace_comparison.hpp"
#include "base/errors.hpp"

namespace lstrace {

int run_compare(const CompareOptions& options)
{
    RecordingProfile base(options.base), now(options.current);
    base.add_file(options.base);
    now.add_file(options.current);
    for (const RecordingProfile* r : {&base, &now})
        if (r->spans() == 0)
            throw FatalError(ExitCode::bad_input,
                             r->source() + ": no span records to compare (only events)");
    const Comparison comparison = compare_recordings(base, now, options.settings, options.only);
    if (comparison.common == 0)
        std::fprintf(stderr,
                     "lstrace-bpf: warning: %s and %s have no operation in common: every "
                     "operation is new or gone\n",
                     options.base.c_str(), options.current.c_str());
    std::vector<const OperationComparison*> failed;
    if (options.fail_on_pct)
        failed = regressions(comparison, *options.fail_on_pct);
    if (options.json) {
        nlohmann::json j = comparison_json(comparison, base, now);
        if (options.fail_on_pct) {
            nlohmann::json names = nlohmann::json::array();
            for (const OperationComparison* op : failed)
                names.push_back(op->name());
            j["fail_on"] = {{"percent", *options.fail_on_pct}, {"failed", names}};
        }
        std::puts(j.dump(2).c_str());
    } else {
        std::fputs(comparison_text(comparison, base, now).c_str(), stdout);
    }
    if (std::ferror(stdout))
        return static_cast<int>(ExitCode::output);
    if (failed.empty())
        return 0;
    std::string names;
    for (const OperationComparison* op : failed)
        names += (names.empty() ? "" : ", ") + op->name();
    std::fprintf(stderr,
                 "lstrace-bpf: --fail-on %g: %zu operation%s slower by more than %g%%: %s\n",
                 *options.fail_on_pct, failed.size(), failed.size() == 1 ? "" : "s",
                 *options.fail_on_pct, names.c_str());
    return static_cast<int>(ExitCode::regression);
}

}  // namespace lstrace
