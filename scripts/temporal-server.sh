#!/usr/bin/env bash
# Print the absolute path of a Temporal server binary on stdout (`sql-tool` as the argument: of its SQL schema tool),
# building both first if needed.
#
#   server="$(bash scripts/temporal-server.sh)"            # temporal-server
#   sql_tool="$(bash scripts/temporal-server.sh sql-tool)" # temporal-sql-tool
#
# Lookup order, for each binary:
#   1. $TEMPORAL_SERVER / $TEMPORAL_SQL_TOOL (must be an executable file, else this exits 1)
#   2. the cached build ${XDG_CACHE_HOME:-$HOME/.cache}/hitl-agent/temporal-server-1.31.2 (temporal-sql-tool-1.31.2)
#   3. `go install go.temporal.io/server/cmd/server@v1.31.2 go.temporal.io/server/cmd/tools/sql@v1.31.2` into that
#      cache (both at once: they share most packages)
#
# stdout carries the path and nothing else; every progress or error message goes to stderr.
set -euo pipefail

# Pinned: v1.31.2, the release npm run test:postgres was run against (the dev server of Temporal CLI 1.5.1 is Server
# 1.29.1). `go install pkg@version` needs a go.mod without `replace` directives: v1.31.2's has none. Its go.mod declares
# `go 1.26.4`.
readonly SERVER_VERSION=1.31.2
readonly SERVER_MODULE=go.temporal.io/server
readonly GO_MIN_MINOR=26    # go.mod of server v1.31.2: `go 1.26.4`
readonly GO_SWITCH_MINOR=21 # Go 1.21+ can fetch a newer toolchain itself (GOTOOLCHAIN=auto)

log() { printf 'temporal-server: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

abs_path() {
  local dir base
  dir="$(dirname -- "$1")"
  base="$(basename -- "$1")"
  dir="$(cd -- "$dir" && pwd -P)" || return 1
  printf '%s/%s\n' "$dir" "$base"
}

case "${1:-server}" in
  server) want=server env_name=TEMPORAL_SERVER ;;
  sql-tool) want=sql-tool env_name=TEMPORAL_SQL_TOOL ;;
  *) die "unknown argument '$1' (expected nothing, \`server\` or \`sql-tool\`)" ;;
esac

from_env="${!env_name:-}"
if [[ -n "$from_env" ]]; then
  [[ -f "$from_env" && -x "$from_env" ]] || die "$env_name=$from_env is not an executable file (unset it to use the cache or go install)"
  abs_path "$from_env"
  exit 0
fi

cache_root="${XDG_CACHE_HOME:-}"
if [[ -z "$cache_root" ]]; then
  [[ -n "${HOME:-}" ]] || die "neither XDG_CACHE_HOME nor HOME is set; cannot locate the cache directory"
  cache_root="$HOME/.cache"
fi
cache_dir="$cache_root/hitl-agent"
cached_server="$cache_dir/temporal-server-$SERVER_VERSION"
cached_sql="$cache_dir/temporal-sql-tool-$SERVER_VERSION"
if [[ "$want" == server ]]; then cached="$cached_server"; else cached="$cached_sql"; fi

if [[ -f "$cached" && -x "$cached" ]]; then
  abs_path "$cached"
  exit 0
fi

how_out="Install Go >= 1.$GO_MIN_MINOR (https://go.dev/dl/; Go 1.$GO_SWITCH_MINOR-1.$((GO_MIN_MINOR - 1)) also works, it downloads the newer toolchain itself) and rerun this script, or point TEMPORAL_SERVER and TEMPORAL_SQL_TOOL at binaries of Temporal Server $SERVER_VERSION."
command -v go >/dev/null 2>&1 || die "no cached $cached and Go is not installed to build it. $how_out"
go_version="$(go env GOVERSION 2>/dev/null || true)"
go_minor="$(sed -nE 's/^go1\.([0-9]+).*/\1/p' <<<"$go_version")"
[[ -n "$go_minor" ]] || die "cannot tell the version of $(command -v go) (got '$go_version'). $how_out"
((go_minor >= GO_SWITCH_MINOR)) || die "$go_version is too old to build Temporal Server v$SERVER_VERSION. $how_out"
if ((go_minor < GO_MIN_MINOR)); then
  log "$go_version is older than go1.$GO_MIN_MINOR; letting Go download the required toolchain (GOTOOLCHAIN=auto)"
  export GOTOOLCHAIN=auto
fi

mkdir -p -- "$cache_dir"
# Beside the final paths, so the renames below are same-filesystem: a concurrent run sees no binary or a whole one.
tmp_bin="$(mktemp -d "$cache_dir/.install.XXXXXX")"
trap 'rm -rf -- "$tmp_bin"' EXIT

log "building Temporal Server v$SERVER_VERSION and its SQL tool with $go_version (the first build takes many minutes)..."
started=$SECONDS
if ! GOBIN="$tmp_bin" go install "$SERVER_MODULE/cmd/server@v$SERVER_VERSION" \
  "$SERVER_MODULE/cmd/tools/sql@v$SERVER_VERSION" >&2; then
  die "go install $SERVER_MODULE/cmd/{server,tools/sql}@v$SERVER_VERSION failed (see the output above). $how_out"
fi
[[ -x "$tmp_bin/server" && -x "$tmp_bin/sql" ]] || die "go install finished but $tmp_bin/server or $tmp_bin/sql is missing"
mv -f -- "$tmp_bin/server" "$cached_server"
mv -f -- "$tmp_bin/sql" "$cached_sql"
log "built $cached_server and $cached_sql in $((SECONDS - started)) s"
abs_path "$cached"
