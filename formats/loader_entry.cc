#include "formats/loader_entry.h"

#include "core/text.h"

namespace vmprep {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

struct KeyValue {
  std::string_view key;
  std::size_t value_begin, value_end;  // in the whole text
};

// The key and value span of one line ("" key for blank and comment lines).
KeyValue Split(std::string_view text, const TextLine& line) {
  std::size_t k = line.begin;
  while (k < line.end && IsBlank(text[k])) ++k;
  std::size_t key_end = k;
  while (key_end < line.end && !IsBlank(text[key_end])) ++key_end;
  std::string_view key = text.substr(k, key_end - k);
  if (key.starts_with("#")) key = {};
  std::size_t v = key_end;
  while (v < line.end && IsBlank(text[v])) ++v;
  std::size_t end = line.end;
  if (end > v && text[end - 1] == '\r') --end;
  if (v == key_end) v = end;  // "options" alone: an empty value at the line's end
  return {key, v, end};
}

}  // namespace

LoaderEntry LoaderEntry::Parse(std::string_view text) {
  LoaderEntry entry;
  entry.text_ = std::string(text);
  for (const TextLine& line : Lines(entry.text_)) {
    KeyValue kv = Split(entry.text_, line);
    if (kv.key == "options") entry.options_.push_back({kv.value_begin, kv.value_end, line.number});
  }
  return entry;
}

std::string LoaderEntry::OptionsText(std::size_t index) const {
  const OptionsLine& o = options_.at(index);
  return text_.substr(o.begin, o.end - o.begin);
}

std::string LoaderEntry::JoinedOptions() const {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < options_.size(); ++i) parts.push_back(OptionsText(i));
  return Join(parts, " ");
}

std::string LoaderEntry::Value(std::string_view key) const {
  for (const TextLine& line : Lines(text_)) {
    KeyValue kv = Split(text_, line);
    if (kv.key == key) return text_.substr(kv.value_begin, kv.value_end - kv.value_begin);
  }
  return "";
}

std::string LoaderEntry::WithOptions(const std::vector<std::string>& values) const {
  std::string after = text_;
  for (std::size_t i = options_.size(); i-- > 0;) {
    const OptionsLine& o = options_[i];
    std::string value = i < values.size() ? values[i] : OptionsText(i);
    // "options" alone: a separator before the first token.
    if (o.begin == o.end && !value.empty() && (o.begin == 0 || !IsBlank(after[o.begin - 1])))
      value = " " + value;
    after.replace(o.begin, o.end - o.begin, value);
  }
  return after;
}

}  // namespace vmprep
