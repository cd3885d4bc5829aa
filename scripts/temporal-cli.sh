#!/usr/bin/env bash
# Print the absolute path of a Temporal CLI binary on stdout, installing it first if needed.
#
# Lookup order:
#   1. $TEMPORAL_CLI (must be an executable file, else this exits 1)
#   2. `temporal` on PATH
#   3. the cached build ${XDG_CACHE_HOME:-$HOME/.cache}/hitl-agent/temporal-1.5.1
#   4. `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` into that cache
#
# stdout carries the path and nothing else, so callers can write `cli="$(bash scripts/temporal-cli.sh)"`;
# every progress or error message goes to stderr.
set -euo pipefail

# Pinned: v1.5.1 is the last release whose go.mod has no `replace` directive. Later releases
# (e.g. v1.9.x: `replace github.com/temporalio/cli/cliext => ./cliext`) make `go install pkg@version`
# refuse to build them. v1.5.1's go.mod declares `go 1.25.0`, hence the Go version check below.
readonly CLI_VERSION=1.5.1
readonly CLI_MODULE=github.com/temporalio/cli/cmd/temporal
readonly GO_MIN_MINOR=25    # go.mod of cli v1.5.1: `go 1.25.0`
readonly GO_SWITCH_MINOR=21 # Go 1.21+ can fetch a newer toolchain itself (GOTOOLCHAIN=auto)

log() { printf 'temporal-cli: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Absolute path of a file without resolving symlinks (portable: no `readlink -f` on older macOS).
abs_path() {
  local dir base
  dir="$(dirname -- "$1")"
  base="$(basename -- "$1")"
  dir="$(cd -- "$dir" && pwd -P)" || return 1
  printf '%s/%s\n' "$dir" "$base"
}

if [[ -n "${TEMPORAL_CLI:-}" ]]; then
  if [[ ! -f "$TEMPORAL_CLI" || ! -x "$TEMPORAL_CLI" ]]; then
    die "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file (unset it to use PATH, the cache or go install)"
  fi
  abs_path "$TEMPORAL_CLI"
  exit 0
fi

if on_path="$(command -v temporal 2>/dev/null)" && [[ -f "$on_path" && -x "$on_path" ]]; then
  abs_path "$on_path"
  exit 0
fi

cache_root="${XDG_CACHE_HOME:-}"
if [[ -z "$cache_root" ]]; then
  [[ -n "${HOME:-}" ]] || die "neither XDG_CACHE_HOME nor HOME is set; cannot locate the cache directory"
  cache_root="$HOME/.cache"
fi
cache_dir="$cache_root/hitl-agent"
cached="$cache_dir/temporal-$CLI_VERSION"

if [[ -f "$cached" && -x "$cached" ]]; then
  abs_path "$cached"
  exit 0
fi

how_out="Either install Go >= 1.$GO_MIN_MINOR (https://go.dev/dl/, or your distribution's golang package if it is >= 1.$GO_MIN_MINOR; Go 1.$GO_SWITCH_MINOR-1.$((GO_MIN_MINOR - 1)) also works, it downloads the newer toolchain itself) and rerun this script, or put a \`temporal\` binary on PATH or point TEMPORAL_CLI at one (https://docs.temporal.io/cli#install)."

if ! command -v go >/dev/null 2>&1; then
  die "no Temporal CLI found (TEMPORAL_CLI unset, no \`temporal\` on PATH, no cached $cached) and Go is not installed to build one. $how_out"
fi

# `go env GOVERSION` prints e.g. go1.26.8 or go1.25rc1; we only need the minor number.
go_version="$(go env GOVERSION 2>/dev/null || true)"
go_minor="$(sed -nE 's/^go1\.([0-9]+).*/\1/p' <<<"$go_version")"
[[ -n "$go_minor" ]] || die "cannot tell the version of $(command -v go) (got '$go_version'). $how_out"
if ((go_minor < GO_SWITCH_MINOR)); then
  die "$go_version is too old to build Temporal CLI v$CLI_VERSION. $how_out"
fi
if ((go_minor < GO_MIN_MINOR)); then
  # An inherited GOTOOLCHAIN=local would stop Go from fetching the toolchain go.mod asks for.
  log "$go_version is older than go1.$GO_MIN_MINOR; letting Go download the required toolchain (GOTOOLCHAIN=auto)"
  export GOTOOLCHAIN=auto
fi

mkdir -p -- "$cache_dir"
# The temp dir lives beside the final path so the mv below is a same-filesystem rename:
# a concurrent run either sees no binary or a complete one.
tmp_bin="$(mktemp -d "$cache_dir/.install.XXXXXX")"
trap 'rm -rf -- "$tmp_bin"' EXIT

log "installing Temporal CLI v$CLI_VERSION with $go_version (first build takes a few minutes)..."
# Release builds stamp the version with -X; without it `temporal --version` would say 0.0.0-DEV.
if ! GOBIN="$tmp_bin" go install -ldflags "-X github.com/temporalio/cli/temporalcli.Version=$CLI_VERSION" \
  "$CLI_MODULE@v$CLI_VERSION" >&2; then
  die "go install $CLI_MODULE@v$CLI_VERSION failed (see the output above). $how_out"
fi
[[ -x "$tmp_bin/temporal" ]] || die "go install finished but $tmp_bin/temporal is missing"

mv -f -- "$tmp_bin/temporal" "$cached"
log "installed $cached"
abs_path "$cached"
