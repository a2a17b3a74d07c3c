#!/usr/bin/env bash
# Fails when any of our C/C++ sources is not clang-format clean (styles: .clang-format,
# bpf/.clang-format). Fix with: clang-format -i FILE...
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' '*.cc' 2>/dev/null || find bpf controller tests -name '*.[ch]' -o -name '*.cc')
clang-format --dry-run --Werror $files
echo "clang-format: $(echo "$files" | wc -w) files clean"
