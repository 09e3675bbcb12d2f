// Text helpers shared by every layer: one line walker, one word splitter, one join, one
// module-name normaliser. Pure functions over bytes; no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vmprep {

// One line of a text as a lossless editor needs it: its bytes without the newline, and where
// it sits. `end` is where the newline is (or the end of the text), `next` where the following
// line starts; text.substr(begin, next - begin) is the line with its newline.
struct TextLine {
  std::string_view text;  // without "\n" (a "\r" before it is kept)
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t next = 0;
  int number = 0;  // 1-based
  std::string_view WithNewline(std::string_view whole) const {
    return whole.substr(begin, next - begin);
  }
};

// Every line of `text`; a final line without newline is kept, an empty text has none.
std::vector<TextLine> Lines(std::string_view text);
// The lines alone, without their newlines.
std::vector<std::string_view> SplitLines(std::string_view text);
// Trims ASCII white space at both ends.
std::string_view Trim(std::string_view text);
// Splits on runs of ASCII white space.
std::vector<std::string_view> SplitWords(std::string_view text);
// "a, b, c" style joins of any list of strings.
std::string Join(const std::vector<std::string>& items, std::string_view separator);
// `text` broken at blanks into lines of at most `width` columns (a longer word stands
// alone), the first line led by `first`, the others by `rest`; each line ends in "\n".
std::string Wrap(std::string_view text, std::size_t width, std::string_view first,
                 std::string_view rest);
// A module name as kmod compares them: "vfio-pci" -> "vfio_pci" (kmod's underscores()).
std::string ModuleName(std::string_view name);
bool SameModule(std::string_view a, std::string_view b);

}  // namespace vmprep
