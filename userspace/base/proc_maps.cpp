#include "base/proc_maps.hpp"

#include <fstream>
#include <sstream>

namespace lstrace {

Result<std::vector<MapEntry>> read_maps(int pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
    if (!in)
        return Error{"cannot read /proc/" + std::to_string(pid) + "/maps"};
    std::vector<MapEntry> maps;
    std::string line;
    while (std::getline(in, line)) {
        // start-end perms offset dev inode   path
        std::istringstream ls(line);
        std::string range, perms, offset, dev, inode;
        MapEntry m;
        ls >> range >> perms >> offset >> dev >> inode;
        std::getline(ls >> std::ws, m.path);
        const auto dash = range.find('-');
        if (dash == std::string::npos)
            continue;
        m.start = std::stoull(range.substr(0, dash), nullptr, 16);
        m.end = std::stoull(range.substr(dash + 1), nullptr, 16);
        m.offset = std::stoull(offset, nullptr, 16);
        m.file_backed = !m.path.empty() && m.path[0] == '/' && inode != "0";
        maps.push_back(std::move(m));
    }
    return maps;
}

}  // namespace lstrace
