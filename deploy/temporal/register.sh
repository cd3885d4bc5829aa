#!/bin/sh
# One-shot (temporalio/admin-tools): once the server answers, make sure the namespace exists and carries the
# search attributes the agent workflows upsert. A workflow that upserts an unregistered attribute fails its
# workflow task, so the worker must not start before this has succeeded (docker-compose.yml orders it).
# Safe to rerun: an existing namespace is left alone, and only attributes the namespace lacks are created (one that
# exists with another type is an error, which is what we want to hear about). scripts/server-postgres.sh runs this same
# script outside a container, with TEMPORAL_CLI naming its Temporal CLI binary.
set -eu

temporal() { "${TEMPORAL_CLI:-temporal}" "$@"; }

address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
retention="${NAMESPACE_RETENTION:-30d}"
host="${address%:*}"
port="${address##*:}"

# Temporal's compose samples dial the IPv4 address: the container name can also resolve to an IPv6 address
# the server does not listen on.
if ip="$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 { print $1 }')" && [ -n "$ip" ]; then
  address="$ip:$port"
fi

attempt=1
until temporal operator cluster health --address "$address" >/dev/null 2>&1; do
  if [ "$attempt" -ge 30 ]; then
    echo "register: Temporal at $address is not healthy after $attempt attempts" >&2
    exit 1
  fi
  echo "register: waiting for Temporal at $address ($attempt/30)"
  attempt=$((attempt + 1))
  sleep 2
done

if temporal operator namespace describe --address "$address" --namespace "$namespace" >/dev/null 2>&1; then
  echo "register: namespace $namespace exists"
else
  echo "register: creating namespace $namespace (retention $retention)"
  temporal operator namespace create --address "$address" --namespace "$namespace" --retention "$retention"
fi

# Attribute metadata is cached by the frontend for a few seconds after a namespace is created; retry briefly.
existing="$(temporal operator search-attribute list --address "$address" --namespace "$namespace" -o json 2>/dev/null || true)"
for pair in AgentStatus:Keyword AgentRequester:Keyword AgentPendingTools:KeywordList AgentDeciders:KeywordList \
  AgentDecidingGroups:KeywordList AgentRiskTier:Keyword AgentDeadline:Datetime; do
  name=${pair%%:*}
  type=${pair#*:}
  if printf '%s' "$existing" | grep -q "\"$name\""; then
    echo "register: search attribute $name exists"
    continue
  fi
  attempt=1
  until temporal operator search-attribute create --address "$address" --namespace "$namespace" \
    --name "$name" --type "$type"; do
    if [ "$attempt" -ge 10 ]; then
      echo "register: could not register search attribute $name" >&2
      exit 1
    fi
    attempt=$((attempt + 1))
    sleep 3
  done
done

# A frontend learns a namespace's attribute mapping from its namespace cache, which it refreshes every few seconds;
# until then a start that upserts AgentStatus is refused ("no mapping defined for search attribute"), and with the
# services in separate processes that window follows the creation above. A visibility query naming every attribute
# goes through the same mapping, so wait for it to be accepted before saying the namespace is ready.
probe="AgentStatus = 'probe' AND AgentRequester = 'probe' AND AgentPendingTools = 'probe' AND AgentDeciders = 'probe'"
probe="$probe AND AgentDecidingGroups = 'probe' AND AgentRiskTier = 'probe' AND AgentDeadline > '2000-01-01T00:00:00Z'"
attempt=1
until temporal workflow list --address "$address" --namespace "$namespace" --query "$probe" --limit 1 >/dev/null 2>&1; do
  if [ "$attempt" -ge 60 ]; then
    echo "register: the frontend still has no mapping for the search attributes after $attempt attempts" >&2
    temporal workflow list --address "$address" --namespace "$namespace" --query "$probe" --limit 1 >&2 || true
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 0.5
done

echo "register: done"
