// Page: the layout every wizard screen shares, at any terminal size from 80x24 up. A title
// bar, an introduction, then a list (CDK scroll) and/or a text pane (CDK scrolling window)
// or a progress gauge (CDK histogram), a row of buttons (CDK buttonbox) and the key line.
// It runs the keys: arrows move in the focused pane, Tab / Shift-Tab move the focus, Enter
// presses the focused button (elsewhere the default one), Space toggles a list item, Esc goes
// back, F1 or ? shows help on the focused item, q quits; a resize lays the page out again.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "wizard/ui.h"

struct SScroll;     // CDKSCROLL
struct SSwindow;    // CDKSWINDOW
struct SButtonBox;  // CDKBUTTONBOX
struct SHistogram;  // CDKHISTOGRAM
struct _win_st;     // curses WINDOW

namespace vmprep::wizard {

struct PageEvent {
  enum class Kind { kButton, kBack, kQuit, kToggle };
  Kind kind = Kind::kButton;
  int button = -1;  // kButton: the index pressed
  int item = -1;    // the list item under the cursor (-1 without a list)
};

class Page {
 public:
  Page(Ui& ui, std::string title);
  ~Page();
  Page(const Page&) = delete;
  Page& operator=(const Page&) = delete;

  // Content. Lines are plain text (Plain() is applied here) unless `markup` says they are
  // CDK markup already. Takes effect at the next Draw() or Run().
  void SetIntro(std::vector<std::string> lines);
  void SetList(std::string title, std::vector<std::string> markup_items, int current = -1);
  void SetText(std::string title, std::vector<std::string> lines, bool markup = false);
  void SetButtons(std::vector<std::string> labels, int default_button = 0);
  void SetGauge(std::string label, int percent);  // replaces the list; percent < 0 hides it
  // The text pane follows the list: `detail(item)` gives its lines for the item under the
  // cursor. `help(item)` gives F1's text (item -1: the focus is not on the list).
  void SetDetail(std::function<std::vector<std::string>(int)> detail);
  void SetHelp(std::function<std::vector<std::string>(int)> help);
  void SetKeys(std::string keys);

  // Adds a line at the end of the text pane and shows it at once (progress).
  void AppendText(const std::string& line, bool markup = false);
  // Lays out (when needed) and draws everything now.
  void Draw();
  // Handles keys until something for the screen happens.
  PageEvent Run();
  int current_item() const;

 private:
  enum class Focus { kList, kText, kButtons };
  void Build();
  void Destroy();
  void FillText();
  void Refocus();
  std::vector<Focus> Focusable() const;
  bool Navigate(int key);

  Ui& ui_;
  std::string title_, text_title_, list_title_, gauge_label_, keys_;
  std::vector<std::string> intro_, items_, text_, buttons_;
  int current_ = 0, default_button_ = 0, gauge_percent_ = -1;
  std::function<std::vector<std::string>(int)> detail_, help_;
  Focus focus_ = Focus::kList;
  bool built_ = false, dirty_ = true;
  int built_rows_ = 0, built_cols_ = 0;
  _win_st* intro_win_ = nullptr;
  SScroll* list_ = nullptr;
  SSwindow* text_win_ = nullptr;
  SButtonBox* button_box_ = nullptr;
  SHistogram* gauge_ = nullptr;
};

}  // namespace vmprep::wizard
