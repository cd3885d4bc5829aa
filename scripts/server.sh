#!/usr/bin/env bash
# Run a local Temporal dev server (`temporal server start-dev`) in the foreground, persisted to
# .temporal/dev.sqlite at the repo root, with the search attributes the agent workflows upsert.
#
#   npm run server                                   # gRPC 127.0.0.1:7233, UI http://127.0.0.1:8233
#   npm run server -- --port 7300 --ui-port 8300 --db-filename /tmp/x.sqlite
#
# Extra arguments go to `start-dev` unchanged. A default is dropped whenever the caller passes the same
# flag, so the caller's value wins without relying on the CLI's last-flag-wins parsing.
# Stop it with Ctrl-C, or SIGTERM to the server process (this script execs it, so `bash scripts/server.sh`'s
# pid is the server's). A SIGTERM to `npm run server`'s npm pid alone is not passed on by npm's `sh -c`:
# signal the process group instead. State survives in the DB file.
set -euo pipefail

repo_root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cli="$(bash "$repo_root/scripts/temporal-cli.sh")"

user_args=("$@")
# `${a[@]+"${a[@]}"}` instead of "${a[@]}": bash 3.2 (macOS) treats an empty array as unset under `set -u`.

# True when the caller passed the flag (long `--name`, `--name=v`, or short `-x`, `-xv`).
user_has() {
  local long="$1" short="${2:-}" arg
  for arg in ${user_args[@]+"${user_args[@]}"}; do
    [[ "$arg" == "--" ]] && break
    [[ "$arg" == "$long" || "$arg" == "$long="* ]] && return 0
    [[ -n "$short" && "$arg" == "$short"* && "$arg" != --* ]] && return 0
  done
  return 1
}

# True when the caller passed a KEY=VALUE flag for this KEY (e.g. `--sqlite-pragma journal_mode=delete`).
user_has_key() {
  local long="$1" key="$2" i arg
  for ((i = 0; i < ${#user_args[@]}; i++)); do
    arg="${user_args[i]}"
    [[ "$arg" == "--" ]] && break
    if [[ "$arg" == "$long" ]]; then
      [[ "${user_args[i + 1]:-}" == "$key="* ]] && return 0
    elif [[ "$arg" == "$long=$key="* ]]; then
      return 0
    fi
  done
  return 1
}

defaults=()
if ! user_has --db-filename -f; then
  mkdir -p -- "$repo_root/.temporal"
  defaults+=(--db-filename "$repo_root/.temporal/dev.sqlite")
fi
# Without --ui-port the CLI puts the UI on gRPC port + 1000, which is what someone passing only --port wants.
user_has --port -p || defaults+=(--port 7233)
user_has --port -p || user_has --ui-port || defaults+=(--ui-port 8233)
user_has --log-level || defaults+=(--log-level warn)
# "default" is also created implicitly; naming it keeps the intent visible. --namespace accumulates, so
# a caller's --namespace adds to it.
defaults+=(--namespace default)
# Search attributes are registered on every start. On a DB file that already has them this is a no-op
# (checked: a second start on the same .temporal/dev.sqlite comes up normally and lists them once).
user_has_key --search-attribute AgentStatus || defaults+=(--search-attribute AgentStatus=Keyword)
user_has_key --search-attribute AgentRequester || defaults+=(--search-attribute AgentRequester=Keyword)
# What waits, kept current by each run, so `hitl pending` lists it with no worker up.
user_has_key --search-attribute AgentPendingTools || defaults+=(--search-attribute AgentPendingTools=KeywordList)
user_has_key --search-attribute AgentDeciders || defaults+=(--search-attribute AgentDeciders=KeywordList)
user_has_key --search-attribute AgentDecidingGroups || defaults+=(--search-attribute AgentDecidingGroups=KeywordList)
user_has_key --search-attribute AgentRiskTier || defaults+=(--search-attribute AgentRiskTier=Keyword)
user_has_key --search-attribute AgentDeadline || defaults+=(--search-attribute AgentDeadline=Datetime)
# WAL lets readers (UI, queries) run alongside the writer, and synchronous=normal is safe under WAL and
# avoids an fsync per commit; both matter once many runs sit parked waiting for approval.
user_has_key --sqlite-pragma journal_mode || defaults+=(--sqlite-pragma journal_mode=wal)
user_has_key --sqlite-pragma synchronous || defaults+=(--sqlite-pragma synchronous=normal)
# The dev server has one history shard, and each history queue reader polls at most 20 times a second by default
# (Temporal's dynamic config history.transferProcessorMaxPollRPS, timerProcessorMaxPollRPS and
# visibilityProcessorMaxPollRPS): every activity and workflow task then waits ~50 ms once a run is busy. Measured
# here: a no-op activity round trip takes 100 ms with the defaults, 15 ms with 1000. test/support/env.ts does the same.
for queue in transfer timer visibility; do
  key="history.${queue}ProcessorMaxPollRPS"
  user_has_key --dynamic-config-value "$key" || defaults+=(--dynamic-config-value "$key=1000")
done
# Eager activity execution: when a workflow task schedules an activity on its own task queue, the server hands the
# activity back in the task's completion response, so the worker starts it without another poll (the SDK reserves
# up to 3 slots per task for this by default). Off by default in the server; measured in BENCHMARKS.md
# ("Fewer hops per decision and per step").
key=system.enableActivityEagerExecution
user_has_key --dynamic-config-value "$key" || defaults+=(--dynamic-config-value "$key=true")

# Decoded payloads in the Web UI when payloads are encrypted: point it at `hitl codec-server`. (The dev server's UI
# has no switch to turn its write actions off; docker-compose.yml's UI has them off. Keep this UI on 127.0.0.1.)
if [[ -n "${HITL_CODEC_ENDPOINT:-}" ]]; then
  user_has --ui-codec-endpoint || defaults+=(--ui-codec-endpoint "$HITL_CODEC_ENDPOINT")
fi

printf 'server: %s server start-dev %s\n' "$cli" "${defaults[*]} ${user_args[*]-}" >&2
exec "$cli" server start-dev "${defaults[@]}" ${user_args[@]+"${user_args[@]}"}
