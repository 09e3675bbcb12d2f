// Boot Loader Specification entries (systemd-boot, GRUB with BLS): "key value" lines,
// '#' comments. Only the value bytes of `options` lines are ever edited; every other byte
// stays as it was. The boot loader joins all `options` lines with a space.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace vmprep {

class LoaderEntry {
 public:
  static LoaderEntry Parse(std::string_view text);

  struct OptionsLine {
    std::size_t begin = 0, end = 0;  // the value's bytes (no key, no "\r", no newline)
    int line = 0;                    // 1-based
  };
  const std::vector<OptionsLine>& options_lines() const { return options_; }
  std::string OptionsText(std::size_t index) const;
  // What the boot loader passes to the kernel: every options line, joined by a space.
  std::string JoinedOptions() const;
  // The value of the first line with `key` ("linux", "version"), "" when absent.
  std::string Value(std::string_view key) const;
  // The text with each options line's value replaced by `values[i]` (same count).
  std::string WithOptions(const std::vector<std::string>& values) const;

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<OptionsLine> options_;
};

}  // namespace vmprep
