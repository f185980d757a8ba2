#!/bin/sh
# Creates the Temporal namespace ivrflow runs calls in, unless it exists.
# Run by the temporal-namespace service of docker-compose.yml once the server
# is up. ivrflow registers its search attributes in the namespace itself when
# `serve` and `worker` start.
#
# TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE are also read by the temporal CLI;
# NAMESPACE_RETENTION is how long a finished call's history is kept.
set -eu

ns=${TEMPORAL_NAMESPACE:-default}
retention=${NAMESPACE_RETENTION:-168h}
address=${TEMPORAL_ADDRESS:-temporal:7233}

# Use the server's IPv4 address rather than its name: Temporal's own compose
# samples do the same, to keep the CLI's gRPC resolver from trying an address
# the server does not listen on.
host=${address%:*}
port=${address##*:}
ip=$(getent ahosts "$host" | awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }')
if [ -n "$ip" ]; then
  address="$ip:$port"
fi

tries=0
until temporal operator cluster health --address "$address" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "create-namespace: Temporal at $address is not healthy after 2 minutes" >&2
    exit 1
  fi
  sleep 2
done

if temporal operator namespace describe --address "$address" --namespace "$ns" >/dev/null 2>&1; then
  echo "create-namespace: namespace $ns exists"
else
  temporal operator namespace create --address "$address" --namespace "$ns" --retention "$retention"
  echo "create-namespace: namespace $ns created, retention $retention"
fi
