/// Page: the shared layout and key handling of the wizard's screens (see page.h).
#include "wizard/page.h"

#include <algorithm>

#include "wizard/cdk.h"

namespace vmprep::wizard {
namespace {

constexpr int kEscape = 27;
constexpr int kMaxIntroRows = 6;

std::vector<const char*> CStrings(const std::vector<std::string>& items) {
  std::vector<const char*> out;
  for (const auto& s : items) out.push_back(s.c_str());
  return out;
}

bool IsEnter(int key) { return key == '\n' || key == '\r' || key == KEY_ENTER; }

}  // namespace

Page::Page(Ui& ui, std::string title) : ui_(ui), title_(std::move(title)) {
  keys_ = "Enter next  Esc back  Tab pane  F1/? help  q quit";
}

Page::~Page() { Destroy(); }

void Page::SetIntro(std::vector<std::string> lines) {
  intro_ = std::move(lines);
  dirty_ = true;
}

void Page::SetList(std::string title, std::vector<std::string> markup_items, int current) {
  if (list_title_ != title || items_.size() != markup_items.size()) dirty_ = true;
  list_title_ = std::move(title);
  items_ = std::move(markup_items);
  if (current >= 0) current_ = current;
  current_ = std::clamp(current_, 0, std::max(0, static_cast<int>(items_.size()) - 1));
  if (list_ != nullptr && !dirty_) {
    auto c = CStrings(items_);
    ::setCDKScrollItems(list_, const_cast<char**>(c.data()), static_cast<int>(c.size()), FALSE);
    ::setCDKScrollCurrentItem(list_, current_);
    if (detail_ && text_win_ != nullptr) FillText();
  }
}

void Page::SetText(std::string title, std::vector<std::string> lines, bool markup) {
  if (text_title_ != title) dirty_ = true;
  text_title_ = std::move(title);
  text_.clear();
  const int width = std::max(20, ui_.cols() - 4);
  for (const auto& l : lines) {
    if (markup) {
      text_.push_back(l);
      continue;
    }
    for (const auto& w : Wrap(l, width)) text_.push_back(Plain(w));
  }
  if (text_win_ != nullptr && !dirty_) FillText();
}

void Page::SetButtons(std::vector<std::string> labels, int default_button) {
  if (labels != buttons_) dirty_ = true;
  buttons_ = std::move(labels);
  default_button_ = default_button;
}

void Page::SetGauge(std::string label, int percent) {
  if ((percent < 0) != (gauge_percent_ < 0) || label != gauge_label_) dirty_ = true;
  gauge_label_ = std::move(label);
  gauge_percent_ = percent;
  if (gauge_ != nullptr && !dirty_) {
    ::setCDKHistogramValue(gauge_, 0, 100, percent);
  }
}

void Page::SetDetail(std::function<std::vector<std::string>(int)> detail) {
  detail_ = std::move(detail);
  dirty_ = true;
}

void Page::SetHelp(std::function<std::vector<std::string>(int)> help) { help_ = std::move(help); }

void Page::SetKeys(std::string keys) { keys_ = std::move(keys); }

int Page::current_item() const { return items_.empty() ? -1 : current_; }

void Page::Destroy() {
  if (list_ != nullptr) destroyCDKScroll(list_);
  if (text_win_ != nullptr) destroyCDKSwindow(text_win_);
  if (button_box_ != nullptr) destroyCDKButtonbox(button_box_);
  if (gauge_ != nullptr) destroyCDKHistogram(gauge_);
  if (intro_win_ != nullptr) ::delwin(intro_win_);
  list_ = nullptr;
  text_win_ = nullptr;
  button_box_ = nullptr;
  gauge_ = nullptr;
  intro_win_ = nullptr;
  built_ = false;
}

void Page::FillText() {
  std::vector<std::string> lines = text_;
  if (detail_ && !items_.empty()) {
    lines.clear();
    for (const auto& l : detail_(current_)) {
      for (const auto& w : Wrap(l, std::max(20, ui_.cols() - 4))) lines.push_back(Plain(w));
    }
  }
  auto c = CStrings(lines);
  ::setCDKSwindowContents(text_win_, const_cast<char**>(c.data()), static_cast<int>(c.size()));
}

std::vector<Page::Focus> Page::Focusable() const {
  std::vector<Focus> out;
  if (list_ != nullptr) out.push_back(Focus::kList);
  if (text_win_ != nullptr) out.push_back(Focus::kText);
  if (button_box_ != nullptr) out.push_back(Focus::kButtons);
  return out;
}

void Page::Build() {
  Destroy();
  ui_.Clear();
  const int rows = ui_.rows(), cols = ui_.cols();
  built_rows_ = rows;
  built_cols_ = cols;
  std::vector<std::string> intro;
  for (const auto& l : intro_) {
    for (const auto& w : Wrap(l, cols - 2)) intro.push_back(w);
  }
  const int intro_rows = std::min<int>(intro.size(), kMaxIntroRows);
  int y = 1;
  if (intro_rows > 0) {
    intro_win_ = ::newwin(intro_rows, cols, y, 0);
    for (int i = 0; i < intro_rows; ++i) ::mvwaddnstr(intro_win_, i, 1, intro[i].c_str(), cols - 2);
    y += intro_rows;
  }
  int room = rows - 2 - y;  // the buttons take row rows-2, the key line rows-1
  if (gauge_percent_ >= 0) {
    std::string label = "</B>" + Plain(gauge_label_) + "<!B>";
    // CDK adds the box and the title to the height given (the bar's): 4 rows in all.
    gauge_ = ::newCDKHistogram(ui_.screen(), 0, y, 1, cols, HORIZONTAL, label.c_str(), TRUE, FALSE);
    ::setCDKHistogram(gauge_, vPERCENT, CENTER, A_BOLD, 0, 100, gauge_percent_, ' ' | A_REVERSE,
                      TRUE);
    y += 4;
    room -= 4;
  } else if (!items_.empty()) {
    const bool with_text = !text_.empty() || detail_;
    int height = with_text ? std::clamp<int>(items_.size() + 3, 5, room * 11 / 20) : room;
    std::string title = list_title_.empty() ? "" : "</B>" + Plain(list_title_) + "<!B>";
    auto c = CStrings(items_);
    list_ = ::newCDKScroll(ui_.screen(), 0, y, RIGHT, height, cols,
                           title.empty() ? nullptr : title.c_str(), const_cast<char**>(c.data()),
                           static_cast<int>(c.size()), FALSE, A_REVERSE, TRUE, FALSE);
    ::setCDKScrollCurrentItem(list_, current_);
    y += height;
    room -= height;
  }
  if ((!text_.empty() || detail_ || !text_title_.empty()) && room >= 3) {
    std::string title = text_title_.empty() ? "" : "</B>" + Plain(text_title_) + "<!B>";
    // CDK adds the title's lines and one more to the height given.
    text_win_ = ::newCDKSwindow(ui_.screen(), 0, y, room - (title.empty() ? 1 : 2), cols,
                                title.empty() ? nullptr : title.c_str(), 5000, TRUE, FALSE);
    FillText();
  }
  if (!buttons_.empty()) {
    std::vector<std::string> labels;
    for (const auto& b : buttons_) labels.push_back("< " + Plain(b) + " >");
    auto c = CStrings(labels);
    // A positive height gets the rows and one more added; a negative one is taken from the
    // screen's height as it is: this gives one row.
    button_box_ = ::newCDKButtonbox(ui_.screen(), 1, rows - 2, 1 - rows, cols - 2, nullptr, 1,
                                    static_cast<int>(c.size()), const_cast<char**>(c.data()),
                                    static_cast<int>(c.size()), A_REVERSE, FALSE, FALSE);
  }
  auto focusable = Focusable();
  if (std::find(focusable.begin(), focusable.end(), focus_) == focusable.end())
    focus_ = focusable.empty() ? Focus::kButtons : focusable.front();
  built_ = true;
  dirty_ = false;
}

void Page::Refocus() {
  if (list_ != nullptr)
    ::setCDKScrollHighlight(list_, focus_ == Focus::kList ? A_REVERSE : A_BOLD | A_UNDERLINE);
  if (button_box_ != nullptr) {
    ::setCDKButtonboxHighlight(button_box_,
                               focus_ == Focus::kButtons ? A_REVERSE : A_BOLD | A_UNDERLINE);
    if (focus_ != Focus::kButtons) ::setCDKButtonboxCurrentButton(button_box_, default_button_);
  }
}

void Page::Draw() {
  if (!built_ || dirty_ || built_rows_ != ui_.rows() || built_cols_ != ui_.cols()) Build();
  ui_.Frame(title_, keys_);
  Refocus();
  if (intro_win_ != nullptr) {
    ::touchwin(intro_win_);
    ::wnoutrefresh(intro_win_);
  }
  if (gauge_ != nullptr) drawCDKHistogram(gauge_, TRUE);
  if (list_ != nullptr) drawCDKScroll(list_, TRUE);
  if (text_win_ != nullptr) drawCDKSwindow(text_win_, TRUE);
  if (button_box_ != nullptr) drawCDKButtonbox(button_box_, FALSE);
  ::doupdate();
}

void Page::AppendText(const std::string& line, bool markup) {
  std::vector<std::string> lines;
  if (markup) {
    lines.push_back(line);
  } else {
    for (const auto& w : Wrap(line, std::max(20, ui_.cols() - 4))) lines.push_back(Plain(w));
  }
  text_.insert(text_.end(), lines.begin(), lines.end());
  // addCDKSwindow would write past the list setCDKSwindowContents sized: set it all again.
  if (text_win_ != nullptr && !dirty_) {
    FillText();
    ::jumpToLineCDKSwindow(text_win_, BOTTOM);
  }
  Draw();
}

// Moves within the focused pane; false when the key is not a movement key.
bool Page::Navigate(int key) {
  const bool move = key == KEY_UP || key == KEY_DOWN || key == KEY_PPAGE || key == KEY_NPAGE ||
                    key == KEY_HOME || key == KEY_END || key == KEY_LEFT || key == KEY_RIGHT;
  if (!move) return false;
  if (focus_ == Focus::kButtons) {
    if (key == KEY_LEFT || key == KEY_RIGHT) (void)injectCDKButtonbox(button_box_, key);
  } else if (focus_ == Focus::kList && list_ != nullptr) {
    (void)injectCDKScroll(list_, static_cast<chtype>(key));
    current_ = ::getCDKScrollCurrentItem(list_);
    if (detail_ && text_win_ != nullptr) FillText();
  } else if (focus_ == Focus::kText && text_win_ != nullptr) {
    // CDK's scrolling window takes Home and End sideways: here they go to the first and last
    // lines.
    if (key == KEY_HOME || key == KEY_END) {
      ::jumpToLineCDKSwindow(text_win_, key == KEY_HOME ? TOP : BOTTOM);
    } else {
      (void)injectCDKSwindow(text_win_, static_cast<chtype>(key));
    }
  }
  Draw();
  return true;
}

PageEvent Page::Run() {
  Draw();
  for (;;) {
    const int key = ui_.Key();
    PageEvent event{.item = current_item()};
    if (key == KEY_RESIZE) {
      Build();
      Draw();
    } else if (Navigate(key)) {
    } else if (key == '\t' || key == KEY_BTAB) {
      auto f = Focusable();
      auto at = std::find(f.begin(), f.end(), focus_) - f.begin();
      if (!f.empty()) focus_ = f[(at + (key == '\t' ? 1 : f.size() - 1)) % f.size()];
      Draw();
    } else if (IsEnter(key) || (key == ' ' && focus_ == Focus::kButtons)) {
      if (buttons_.empty()) continue;
      event.button = focus_ == Focus::kButtons && button_box_ != nullptr
                         ? ::getCDKButtonboxCurrentButton(button_box_)
                         : default_button_;
      return event;
    } else if (key == ' ' && focus_ == Focus::kList && !items_.empty()) {
      event.kind = PageEvent::Kind::kToggle;
      return event;
    } else if (key == ' ' && focus_ == Focus::kText) {
      Navigate(KEY_NPAGE);
    } else if (key == kEscape) {
      event.kind = PageEvent::Kind::kBack;
      return event;
    } else if (key == 'q' || key == 'Q') {
      event.kind = PageEvent::Kind::kQuit;
      return event;
    } else if (key == KEY_F(1) || key == '?') {
      ui_.Show("Help: " + title_, help_ ? help_(focus_ == Focus::kList ? current_item() : -1)
                                        : std::vector<std::string>{"No help here."});
      Draw();
    }
  }
}

}  // namespace vmprep::wizard
