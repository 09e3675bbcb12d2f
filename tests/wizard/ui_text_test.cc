// Text for CDK (wizard/ui.h): what comes from the machine (paths, device names, lines of a
// configuration file) is shown as it is, never read as CDK markup, and fits the terminal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "wizard/ui.h"

namespace vmprep::wizard {
namespace {

using ::testing::ElementsAre;

TEST(WizardText, MarkupIsEscapedAndOnlyPrintableAsciiRemains) {
  // "</B>" would start bold text and "<C>" centre the line; "\<" is CDK's literal '<'.
  EXPECT_EQ(Plain("</B>bold<!B> <C> a<b"), "\\</B>bold\\<!B> \\<C> a\\<b");
  EXPECT_EQ(Plain("tab\there\x1b[2Jbell\x07"), "tab here?[2Jbell?");
  // vmprep's own punctuation as ASCII; anything else one '?' per character.
  EXPECT_EQ(Plain("group 1 \xe2\x80\x94 ok \xe2\x86\x92 next\xe2\x80\xa6"),
            "group 1 - ok -> next...");
  EXPECT_EQ(Plain("Gr\xc3\xa4"
                  "fin \xe6\x97\xa5"),
            "Gr?fin ?");
}

TEST(WizardText, WrapsAtSpacesKeepingTheIndent) {
  EXPECT_THAT(Wrap("one two three four five six", 14),
              ElementsAre("one two three", "four five six"));
  EXPECT_THAT(Wrap("  fix: run update-grub then reboot", 16),
              ElementsAre("  fix: run", "  update-grub", "  then reboot"));
  EXPECT_THAT(Wrap("a\n\nb", 20), ElementsAre("a", "", "b"));
  EXPECT_THAT(Wrap("/a/very/long/path/without/any/space", 12),
              ElementsAre("/a/very/long", "/path/withou", "t/any/space"));
}

}  // namespace
}  // namespace vmprep::wizard
