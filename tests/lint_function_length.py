#!/usr/bin/env python3
"""Functions stay short and probe/fixer files stay small (issue 8, docs STYLE).

Fails naming FILE:LINE, the function and its length for every function body longer than
80 lines in core/ formats/ system/ checks/ fixers/ wizard/ iso/ (*.cc), and every
checks/probes/*.cc or fixers/*.cc file longer than 300 lines.

A function's length is counted from the line of its opening brace to the line of its closing
brace. Functions are found by scanning the code with comments, string literals (raw strings
too) and preprocessor lines blanked out: a brace block at namespace or class level whose
header ends with a parameter list ')' (or a qualifier after it: const, override, noexcept,
a trailing return type) is a function; lambdas and local classes count toward the function
that holds them.

Usage: lint_function_length.py [TOP]   (default: the current directory)
       lint_function_length.py --self-test
"""
import os
import re
import sys
import tempfile

MAX_FUNCTION_LINES = 80
MAX_FILE_LINES = 300
DIRS = ["core", "formats", "system", "checks", "fixers", "wizard", "iso"]
# Folders whose files are each one probe or one fixer (and their helpers): kept small.
SMALL_FILE_DIRS = ["checks/probes", "fixers"]
# "path:function" -> why it may stay long for now. Keep this empty: split instead.
EXEMPT = {
}

_QUALIFIERS = re.compile(
    r"\)\s*(?:(?:const|override|final|mutable|volatile|noexcept(?:\s*\([^()]*\))?|&&|&)\s*)*"
    r"(?:->\s*[\w:<>,\s*&]+)?\s*$"
)


def blank(code):
    """The text with comments, string and character literals and preprocessor lines turned
    into spaces; newlines are kept so that line numbers stay right."""
    out = []
    i, n = 0, len(code)
    line_start = True
    while i < n:
        c = code[i]
        if line_start and c == "#":
            # A preprocessor line, with its continuations.
            while i < n and code[i] != "\n":
                if code[i] == "\\" and i + 1 < n and code[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        if c == "\n":
            out.append(c)
            line_start = True
            i += 1
            continue
        if c in " \t":
            out.append(c)
            i += 1
            continue
        line_start = False
        if code.startswith("//", i):
            while i < n and code[i] != "\n":
                out.append(" ")
                i += 1
            continue
        if code.startswith("/*", i):
            end = code.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", code[i:end]))
            i = end
            continue
        raw = re.match(r'(?:u8|u|U|L)?R"([^()\\\s]{0,16})\(', code[i:i + 24])
        if raw and (i == 0 or not (code[i - 1].isalnum() or code[i - 1] == "_")):
            close = ")" + raw.group(1) + '"'
            end = code.find(close, i + raw.end())
            end = n if end < 0 else end + len(close)
            out.append('""' + re.sub(r"[^\n]", " ", code[i + 2:end]))
            i = end
            continue
        if c in "\"'":
            j = i + 1
            while j < n and code[j] != c and code[j] != "\n":
                j += 2 if code[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else c)
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


def block_kind(header):
    """What the brace after `header` opens at namespace or class level: "scope" (namespace,
    class, struct, union, enum, extern "C"), "function", or "other" (an initializer)."""
    h = re.sub(r"\btemplate\s*<[^{};]*?>", " ", header)
    if re.match(r"\s*(?:inline\s+)?(?:namespace|class|struct|union|enum)\b", h) or re.match(
            r'\s*extern\s*"', h):
        return "scope"
    if _QUALIFIERS.search(header):
        return "function"
    return "other"


def function_name(header):
    """The (qualified) name before the parameter list of a function header."""
    head = header.split("(", 1)[0]
    names = re.findall(r"[~\w:]+(?:<[^<>]*>)?|operator\s*\S+", head)
    return names[-1] if names else "?"


def functions(code):
    """(line of the header, name, body lines) of each function in the blanked code."""
    found = []
    stack = []  # one entry per open brace: "scope" (namespace, class) or "other"
    header, header_line = "", None
    body_start = None  # (line, name) of the function being read, at depth len(stack)
    depth_at_body = None
    line = 1
    for c in code:
        if c == "\n":
            line += 1
            if header_line is not None:
                header += "\n"
            continue
        if depth_at_body is not None:
            # Inside a function: only the brace that closes it matters.
            if c == "{":
                stack.append("other")
            elif c == "}":
                stack.pop()
                if len(stack) == depth_at_body:
                    start, name, hline = body_start
                    found.append((hline, name, line - start + 1))
                    depth_at_body = None
                    header, header_line = "", None
            continue
        if c == "{":
            kind = "other" if stack and stack[-1] == "other" else block_kind(header)
            if kind == "function":
                body_start = (line, function_name(header), header_line or line)
                depth_at_body = len(stack)
            stack.append(kind)
            header, header_line = "", None
        elif c == "}":
            if stack:
                stack.pop()
            header, header_line = "", None
        elif c == ";":
            header, header_line = "", None
        else:
            if header_line is None:
                if c in " \t":
                    continue
                header_line = line
            header += c
    return found


def source_files(top):
    for d in DIRS:
        for root, _, names in os.walk(os.path.join(top, d)):
            for name in sorted(names):
                if name.endswith(".cc"):
                    yield os.path.relpath(os.path.join(root, name), top)


def lint(top, seen_exempt=None):
    problems = []
    for rel in sorted(source_files(top)):
        with open(os.path.join(top, rel), encoding="utf-8", errors="replace") as f:
            text = f.read()
        if os.path.dirname(rel) in SMALL_FILE_DIRS:
            count = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
            if count > MAX_FILE_LINES:
                problems.append(f"{rel}: {count} lines, more than {MAX_FILE_LINES} for a probe "
                                f"or fixer file; split it into cohesive files")
        for hline, name, length in functions(blank(text)):
            if length > MAX_FUNCTION_LINES and f"{rel}:{name}" in EXEMPT:
                if seen_exempt is not None:
                    seen_exempt.add(f"{rel}:{name}")
            elif length > MAX_FUNCTION_LINES:
                problems.append(f"{rel}:{hline}: {name} is {length} lines, more than "
                                f"{MAX_FUNCTION_LINES}; split it into smaller functions")
    return problems


SELF_TEST_LONG = """// A long function, and what must not be taken for one.
#include <string>
#define BRACES(x) { x; }
namespace vmprep {
namespace {
constexpr const char* kText = R"(a raw string with { braces ( and ) "quotes"
)";
struct Holder {
  int Get() const { return 1; }
};
}  // namespace
int Short(int a) {
  const char* s = "}{";  // } a comment with a brace {
  /* { */
  return a + (s[0] == '{' ? 1 : 0);
}
std::string Host::Long(int a,
                       int b) const {
%s
  auto f = [](int x) {
    return x;
  };
  return f(a + b);
}
}  // namespace vmprep
"""


def self_test():
    with tempfile.TemporaryDirectory() as top:
        os.makedirs(os.path.join(top, "core"))
        os.makedirs(os.path.join(top, "fixers"))
        os.makedirs(os.path.join(top, "iso/live"))
        body = "\n".join(f"  a += {k};" for k in range(76))
        with open(os.path.join(top, "core/long.cc"), "w") as f:
            f.write(SELF_TEST_LONG % body)
        # Exactly 80 lines from brace to brace: allowed.
        with open(os.path.join(top, "iso/live/edge.cc"), "w") as f:
            f.write("int Edge() {\n" + "  ;\n" * 78 + "}\n")
        with open(os.path.join(top, "fixers/big.cc"), "w") as f:
            f.write("int Small() { return 0; }\n" + "// filler\n" * 300)
        got = lint(top)
    want = [
        "core/long.cc:17: Host::Long is 82 lines, more than 80; split it into smaller functions",
        "fixers/big.cc: 301 lines, more than 300 for a probe or fixer file; split it into "
        "cohesive files",
    ]
    if got != want:
        print("function-length self-test: expected")
        print("\n".join("  " + w for w in want))
        print("got")
        print("\n".join("  " + g for g in got) or "  (nothing)")
        return 1
    print("function-length self-test: a long function and a long fixer file are caught; a "
          "raw string, braces in literals and comments, an 80-line function are not")
    return 0


def main(argv):
    if len(argv) > 1 and argv[1] == "--self-test":
        return self_test()
    top = argv[1] if len(argv) > 1 else "."
    seen_exempt = set()
    problems = lint(top, seen_exempt)
    for p in problems:
        print(p)
    for stale in sorted(set(EXEMPT) - seen_exempt):
        print(f"note: {stale} is exempt but no longer long: remove it from EXEMPT")
    if problems:
        print(f"function-length: {len(problems)} problem(s); functions <= {MAX_FUNCTION_LINES} "
              f"lines, probe and fixer files <= {MAX_FILE_LINES} lines")
        return 1
    print(f"function-length: every function <= {MAX_FUNCTION_LINES} lines, every probe and "
          f"fixer file <= {MAX_FILE_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
