// The terminal: curses and CDK started and stopped, the title and key lines, modal pop-ups
// (help, questions, one-line prompts), and text made safe for CDK. The screens build on it
// (page.h); nothing here knows about passthrough.
#pragma once

#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct SScreen;  // CDKSCREEN
struct _win_st;  // curses WINDOW

namespace vmprep::wizard {

// Text for a CDK widget: printable ASCII only (anything else becomes '?', a tab a space) and
// every '<' escaped, so that CDK's markup never reads a path, a device name or a line of a
// configuration file as a format command.
std::string Plain(std::string_view text);
// Plain text split into lines of at most `width` columns, at spaces where it can be.
std::vector<std::string> Wrap(std::string_view text, int width);

// A verdict mark, "[FAIL]" and so on: readable without colour; coloured when the terminal
// has colours and NO_COLOR is not set. Returned as CDK markup.
enum class Mark { kPass, kNote, kWarn, kFail, kSkip, kNone };

class Ui {
 public:
  // Starts curses and CDK on the terminal (TERM as set), or says why it cannot.
  static std::expected<std::unique_ptr<Ui>, std::string> Open();
  ~Ui();
  Ui(const Ui&) = delete;
  Ui& operator=(const Ui&) = delete;

  SScreen* screen() const { return screen_; }
  int rows() const;
  int cols() const;
  std::string MarkText(Mark mark) const;

  // The title bar (top line) and the key line (bottom line).
  void Frame(std::string_view title, std::string_view keys);
  // Waits for a key. KEY_RESIZE after the terminal changed size (rows()/cols() are new).
  int Key();
  // Drops the windows of the frame and clears the screen (before a layout is rebuilt).
  void Clear();

  // Modal: `lines` in a scrollable box; Enter, Esc, q, Space or F1 closes it.
  void Show(std::string_view title, const std::vector<std::string>& lines);
  // Modal: a question and its buttons; the index chosen, or -1 for Esc.
  int Ask(std::string_view title, const std::vector<std::string>& lines,
          const std::vector<std::string>& buttons, int initial = 0);
  // Modal: one line of text, prefilled with `initial`; nullopt for Esc.
  std::optional<std::string> Prompt(std::string_view title, std::string_view label,
                                    std::string_view initial);

 private:
  Ui() = default;
  SScreen* screen_ = nullptr;
  _win_st* title_ = nullptr;
  _win_st* keys_ = nullptr;
  bool colour_ = false;
};

}  // namespace vmprep::wizard
