// Traced strings shown on a terminal.  A span name, tag or error message is
// whatever the traced program put there: escape sequences in it could set
// the window title, clear the screen or move the cursor, and a newline could
// forge a whole line of a table.  Everything the text views print goes
// through these.
#pragma once

#include <string>
#include <string_view>

namespace lstrace {

// `text` with every control character made visible: \n \r \t \e as such,
// other C0 controls and DEL as \xNN, C1 controls (U+0080..U+009F, which some
// terminals obey) as \u0080..\u009f.  For one field of a line.
std::string printable(std::string_view text);

// The same for a whole block of text built by the recorder, whose own
// newlines stay (fields in it should have gone through printable()).
std::string terminal_text(std::string_view text);

}  // namespace lstrace
