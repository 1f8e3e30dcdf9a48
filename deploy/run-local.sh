#!/usr/bin/env bash
# Start edgewhisk on this machine, in the foreground: make sure dockerd
# answers, build the binaries and runtime images if needed, start the
# controller (which starts one invoker per core), create a "hello" action
# and print how to call it. Ctrl-C (or SIGTERM) stops everything and removes
# the action containers. Run from the repository root, as root.
#   deploy/run-local.sh [config]     (default config/edgewhisk.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-config/edgewhisk.yaml}

deploy/dockerd-up.sh
make -s all images

# API address and the first key from the config, for the printout.
host=$(sed -n '/^api:/,/^[^ ]/s/^  address: *\([^ #]*\).*/\1/p' "$config" | head -n1)
port=$(sed -n '/^api:/,/^[^ ]/s/^  port: *\([0-9]*\).*/\1/p' "$config" | head -n1)
uuid=$(sed -n 's/^ *- uuid: *\([0-9a-f-]*\).*/\1/p' "$config" | head -n1)
key=$(sed -n 's/^ *key: *\([A-Za-z0-9]*\).*/\1/p' "$config" | head -n1)
host=${host:-127.0.0.1} port=${port:-3233}
auth="$uuid:$key"
api="http://$host:$port"

build/edgewhisk-controller -c "$config" &
ctl=$!
trap 'kill -TERM $ctl 2>/dev/null; wait $ctl' INT TERM
for _ in $(seq 1 100); do
	curl -sf --noproxy '*' "$api/ping" >/dev/null 2>&1 && break
	kill -0 $ctl 2>/dev/null || { echo "run-local: the controller exited (see its log above)" >&2; exit 1; }
	sleep 0.1
done

curl -sf --noproxy '*' -u "$auth" -X PUT -H 'Content-Type: application/json' \
	"$api/api/v1/namespaces/_/actions/hello?overwrite=true" \
	-d '{"exec":{"kind":"nodejs:default","code":"function main(p) { return {greeting: \"Hello \" + (p.name || \"stranger\")}; }"}}' \
	>/dev/null

cat <<EOT

edgewhisk is up.
  APIHOST=$api
  AUTH=$auth
  NAMESPACE=guest

Invoke the hello action:
  curl -u $auth -X POST '$api/api/v1/namespaces/_/actions/hello?blocking=true&result=true' \\
       -H 'Content-Type: application/json' -d '{"name":"edge"}'

With the wsk CLI, write ~/.wskprops:
  APIHOST=$api
  AUTH=$auth
  NAMESPACE=guest
then: wsk action invoke hello -p name edge --result

Ctrl-C stops edgewhisk and removes its containers.
EOT
wait $ctl
