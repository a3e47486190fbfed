#!/usr/bin/env bash
# What the container test needs before it can build the image: Docker (installed from Debian and started
# where it is missing) and a Node base image (test/container/base-image.sh). Prints the base image's name.
# Exits 0 when all is there, 2 (with the reason on stderr) when this machine cannot run Docker at all,
# which run.sh reports as a loud skip.
#
# Idempotent, and quick once Docker and the base are there. On a fresh machine it mostly waits on apt,
# debootstrap and the npm registry (1-2 minutes), which is why .ci/run runs the whole container test beside
# the suite.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "container-test: $*" >&2; }
cannot() { echo "$*" >&2; exit 2; }

if ! command -v dockerd >/dev/null 2>&1; then
  say "installing docker.io (Debian)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null; } || cannot "docker.io cannot be installed on this machine"
fi
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd"
  (dockerd >/tmp/provisio-dockerd.log 2>&1 &)
  for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || cannot "dockerd does not start here: $(tail -n 3 /tmp/provisio-dockerd.log 2>/dev/null | tr '\n' ' ')"
fi

# No base at all (no registry and no Debian mirror for a stand-in) is this machine's limit, not the image's.
bash test/container/base-image.sh || cannot "no Node base image can be pulled or built here (see the base-image lines above)"
