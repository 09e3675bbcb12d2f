/// The terminal for the wizard: curses and CDK, the frame lines and modal pop-ups.
#include "wizard/ui.h"

#include <algorithm>
#include <cstdlib>

#include "wizard/cdk.h"

namespace vmprep::wizard {
namespace {

constexpr int kEscape = 27;

// CDK takes arrays of C strings; these live as long as the vector of std::string.
std::vector<const char*> CStrings(const std::vector<std::string>& items) {
  std::vector<const char*> out;
  for (const auto& s : items) out.push_back(s.c_str());
  return out;
}

int Widest(const std::vector<std::string>& lines) {
  int width = 0;
  for (const auto& l : lines) width = std::max(width, static_cast<int>(l.size()));
  return width;
}

}  // namespace

std::string Plain(std::string_view text) {
  // The few non-ASCII characters vmprep's own messages use, as ASCII.
  static constexpr std::pair<std::string_view, std::string_view> kAscii[] = {
      {"\u2014", "-"}, {"\u2013", "-"},  {"\u2192", "->"}, {"\u2026", "..."}, {"\u2018", "'"},
      {"\u2019", "'"}, {"\u201c", "\""}, {"\u201d", "\""}, {"\u00d7", "x"}};
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      std::string_view rest = text.substr(i);
      auto known = std::find_if(std::begin(kAscii), std::end(kAscii),
                                [&](const auto& k) { return rest.starts_with(k.first); });
      // One '?' per character: skip the continuation bytes of a UTF-8 sequence.
      std::size_t len = 1;
      while (i + len < text.size() && (static_cast<unsigned char>(text[i + len]) & 0xc0) == 0x80)
        ++len;
      out += known != std::end(kAscii) ? known->second : "?";
      i += (known != std::end(kAscii) ? known->first.size() : len) - 1;
    } else if (c == '\t') {
      out += ' ';
    } else if (c == '<') {
      out += "\\<";
    } else if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::vector<std::string> Wrap(std::string_view text, int width) {
  std::vector<std::string> out;
  width = std::max(width, 10);
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    // Keep the indentation of a line for its continuation lines.
    std::size_t indent = std::min<std::size_t>(line.find_first_not_of(' '), width / 2);
    if (indent == std::string_view::npos) indent = 0;
    bool first = true;
    do {
      std::size_t room = width - (first ? 0 : indent);
      std::size_t cut = line.size() <= room ? line.size() : line.rfind(' ', room);
      if (cut == std::string_view::npos || cut <= indent) cut = std::min(room, line.size());
      out.push_back(std::string(first ? 0 : indent, ' ') + std::string(line.substr(0, cut)));
      line.remove_prefix(cut);
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      first = false;
    } while (!line.empty());
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

std::expected<std::unique_ptr<Ui>, std::string> Ui::Open() {
  const char* term = std::getenv("TERM");
  if (term == nullptr || *term == '\0') return std::unexpected("TERM is not set");
  // newterm, unlike initscr, returns instead of exiting when the terminal is unknown.
  SCREEN* s = ::newterm(nullptr, stdout, stdin);
  if (s == nullptr)
    return std::unexpected(std::string("cannot use the terminal type TERM=") + term);
  ::set_term(s);
  std::unique_ptr<Ui> ui(new Ui());
  ::cbreak();
  ::noecho();
  ::set_escdelay(100);
  ::curs_set(0);
  const char* no_colour = std::getenv("NO_COLOR");
  if ((no_colour == nullptr || *no_colour == '\0') && ::has_colors()) {
    ::initCDKColor();
    ui->colour_ = true;
  }
  ui->screen_ = ::initCDKScreen(stdscr);
  return ui;
}

Ui::~Ui() {
  Clear();
  if (screen_ != nullptr) destroyCDKScreen(screen_);
  ::endwin();
}

int Ui::rows() const { return LINES; }
int Ui::cols() const { return COLS; }

std::string Ui::MarkText(Mark mark) const {
  struct Style {
    const char* text;
    int pair;   // CDK's pairs: foreground index * 8 + background index + 1 (black = 7)
    bool bold;  // without colour
  };
  static constexpr Style kStyles[] = {{"[PASS]", 24, false}, {"[NOTE]", 56, false},
                                      {"[WARN]", 32, true},  {"[FAIL]", 16, true},
                                      {"[SKIP]", 0, false},  {"      ", 0, false}};
  const Style& s = kStyles[static_cast<int>(mark)];
  if (colour_ && s.pair != 0) {
    return "</" + std::to_string(s.pair) + ">" + s.text + "<!" + std::to_string(s.pair) + ">";
  }
  return s.bold ? std::string("</B>") + s.text + "<!B>" : std::string(s.text);
}

void Ui::Clear() {
  if (title_ != nullptr) ::delwin(title_);
  if (keys_ != nullptr) ::delwin(keys_);
  title_ = keys_ = nullptr;
  ::werase(stdscr);
  ::wnoutrefresh(stdscr);
}

void Ui::Frame(std::string_view title, std::string_view keys) {
  if (title_ == nullptr) {
    title_ = ::newwin(1, cols(), 0, 0);
    ::keypad(title_, TRUE);
    ::wbkgdset(title_, A_REVERSE | ' ');
  }
  if (keys_ == nullptr) {
    keys_ = ::newwin(1, cols(), rows() - 1, 0);
    ::wbkgdset(keys_, A_REVERSE | ' ');
  }
  for (auto [win, text] : {std::pair{title_, title}, std::pair{keys_, keys}}) {
    ::werase(win);
    std::string shown = " " + std::string(text);
    ::mvwaddnstr(win, 0, 0, shown.c_str(), cols());
    ::wnoutrefresh(win);
  }
  ::doupdate();
}

int Ui::Key() {
  int key = ::wgetch(title_ != nullptr ? title_ : stdscr);
  return key;
}

void Ui::Show(std::string_view title, const std::vector<std::string>& lines) {
  std::vector<std::string> wrapped;
  for (const auto& l : lines) {
    for (auto& w : Wrap(l, cols() - 8)) wrapped.push_back(Plain(w));
  }
  const int width = std::min(cols() - 2, std::max(Widest(wrapped) + 4, 40));
  const int height = std::min(rows() - 2, static_cast<int>(wrapped.size()) + 4);
  std::string heading = "</B>" + Plain(title) + "<!B>";
  CDKSWINDOW* box = ::newCDKSwindow(screen_, CENTER, CENTER, height, width, heading.c_str(),
                                    static_cast<int>(wrapped.size()) + 1, TRUE, FALSE);
  if (box == nullptr) return;
  auto items = CStrings(wrapped);
  ::setCDKSwindowContents(box, const_cast<char**>(items.data()), static_cast<int>(items.size()));
  drawCDKSwindow(box, TRUE);
  for (;;) {
    int key = Key();
    if (key == '\n' || key == '\r' || key == KEY_ENTER || key == kEscape || key == 'q' ||
        key == ' ' || key == KEY_F(1) || key == '?' || key == KEY_RESIZE)
      break;
    if (key == KEY_UP || key == KEY_DOWN || key == KEY_PPAGE || key == KEY_NPAGE ||
        key == KEY_HOME || key == KEY_END || key == KEY_LEFT || key == KEY_RIGHT)
      (void)injectCDKSwindow(box, static_cast<chtype>(key));
  }
  destroyCDKSwindow(box);
}

int Ui::Ask(std::string_view title, const std::vector<std::string>& lines,
            const std::vector<std::string>& buttons, int initial) {
  std::vector<std::string> message = {"</B>" + Plain(title) + "<!B>", ""};
  for (const auto& l : lines) {
    for (auto& w : Wrap(l, std::min(cols() - 8, 72))) message.push_back(Plain(w));
  }
  std::vector<std::string> labels;
  for (const auto& b : buttons) labels.push_back("< " + Plain(b) + " >");
  auto m = CStrings(message), b = CStrings(labels);
  CDKDIALOG* dialog = ::newCDKDialog(screen_, CENTER, CENTER, const_cast<char**>(m.data()),
                                     static_cast<int>(m.size()), const_cast<char**>(b.data()),
                                     static_cast<int>(b.size()), A_REVERSE, TRUE, TRUE, FALSE);
  if (dialog == nullptr) return -1;
  dialog->currentButton = std::clamp(initial, 0, static_cast<int>(buttons.size()) - 1);
  drawCDKDialog(dialog, TRUE);
  int chosen = -1;
  for (;;) {
    int key = Key();
    if (key == kEscape || key == 'q') break;
    if (key == '\n' || key == '\r' || key == KEY_ENTER || key == ' ') {
      chosen = dialog->currentButton;
      break;
    }
    if (key == KEY_LEFT || key == KEY_RIGHT || key == '\t' || key == KEY_BTAB)
      (void)injectCDKDialog(dialog, static_cast<chtype>(key == '\t' ? KEY_TAB : key));
  }
  destroyCDKDialog(dialog);
  return chosen;
}

std::optional<std::string> Ui::Prompt(std::string_view title, std::string_view label,
                                      std::string_view initial) {
  std::string heading = "</B>" + Plain(title) + "<!B>", text = Plain(label);
  CDKENTRY* entry = ::newCDKEntry(screen_, CENTER, CENTER, heading.c_str(), text.c_str(), A_NORMAL,
                                  '_', vMIXED, 20, 0, 40, TRUE, FALSE);
  if (entry == nullptr) return std::nullopt;
  ::curs_set(1);
  std::string value(initial);
  ::setCDKEntryValue(entry, value.c_str());
  char* got = ::activateCDKEntry(entry, nullptr);
  std::optional<std::string> out;
  if (entry->exitType == vNORMAL && got != nullptr) out = got;
  ::curs_set(0);
  destroyCDKEntry(entry);
  return out;
}

}  // namespace vmprep::wizard
