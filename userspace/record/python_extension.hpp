// Where a Python process will load the lstrace extension from.
//
// A C or C++ program carries its langswarm probes in its executable or in
// the libraries its loader maps; a Python program gets them only when it
// imports `lstrace`, whose extension module (lstrace/_native*.so) Python
// dlopen()s long after exec.  A process stopped right after exec (launched,
// or followed) has not mapped it yet, so the recorder looks for it where
// that interpreter's import would: its PYTHONPATH, the script's directory,
// an active virtualenv, the user's and the interpreter's site directories.
// Uprobes placed on a file take effect when the process maps it.  Nothing
// is executed: the paths come from the process's own /proc files.
#pragma once

#include <string>
#include <vector>

namespace lstrace {

// True when `exe_path` (a resolved executable path) is a CPython
// interpreter (python3, python3.11, ...).
bool is_python_interpreter(const std::string& exe_path);

// The lstrace/_native*.so files that process `pid` (a Python interpreter at
// `exe_path`, stopped after exec) may import, resolved to real paths and
// without duplicates; empty when there are none.
std::vector<std::string> python_extension_candidates(int pid, const std::string& exe_path);

}  // namespace lstrace
