// The kvmfr fixer (Looking Glass's /dev/kvmfr0) and its request, `--enable kvmfr=SIZE[:USER]`.
#pragma once

#include <expected>
#include <memory>
#include <string_view>

#include "core/error.h"
#include "fixers/fixer.h"

namespace vmprep {

// "64", "64:alice", "2560x1440" or "2560x1440:alice": static_size_mb (a power of two, 1 to
// 1024 MiB, or what Looking Glass needs at that resolution) and the owner of /dev/kvmfr0.
std::expected<FixerOptions::Kvmfr, Error> ParseKvmfrRequest(std::string_view value);

std::unique_ptr<Fixer> MakeKvmfrFixer();

}  // namespace vmprep
