#!/usr/bin/env bash
# The container test: builds the image and runs it as the README says, in both modes —
#   zero-config: an empty named volume on /data (embedded PGlite), the built-in Auth0 emulator asked for;
#   production: DATABASE_URL (this machine's PostgreSQL) and an Auth0 tenant (an emulator in its own process),
# each time: healthy by its healthcheck, `docker exec … provisio tenant create`, a user pushed over SCIM,
# `docker restart` and the user read back, then SIGTERM and a clean exit (0) within 10 s. It also checks that
# the production image refuses to start without an Auth0 tenant.
#
# The `docker run`/`docker exec` lines it runs are the README's own (see `readme_line`): each is looked up
# verbatim in README.md, then run with this test's container name, port, volume and env file.
#
# Where Docker cannot be installed or started, it says so loudly and exits 0 (CI runs it wherever it can).
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "container-test: $*"; }
skip() {
  echo
  echo "!!!!!!!!!! container-test: SKIPPED: $* !!!!!!!!!!"
  echo
  exit 0
}
fail() {
  echo "container-test: FAILED: $*" >&2
  for c in "${containers[@]}"; do
    echo "---- docker logs $c (last 40 lines)" >&2
    docker logs --tail 40 "$c" >&2 2>&1 || true
  done
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# ---- Docker itself and the base image (see prepare.sh) ---------------------------------------------------
t0=$(now)
set +e
base=$(bash test/container/prepare.sh)
prepared=$?
set -e
case $prepared in
  0) ;;
  2) skip "Docker cannot run here (see the lines above)" ;;
  *) fail "test/container/prepare.sh exited $prepared" ;;
esac
say "docker running, base image $base ($(since "$t0") s)"

run_id="ct$$"
# Kept between runs (not removed at the end), so that the next build reuses its cached layers. The build stage
# gets a tag of its own: untagged, its layers (the image's `npm ci`, most of a build) were the dangling images
# the prune below removes, and every run installed the dependencies again (83.6 s of a build on 2026-12-06; with
# the stage kept, a changed source tree rebuilds from `COPY src` on).
image="provisio-test:latest"
build_stage="provisio-test-build-stage:latest"
containers=()
volumes=()
helpers=()
cleanup() {
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  for v in "${volumes[@]}"; do docker volume rm -f "$v" >/dev/null 2>&1 || true; done
  for p in "${helpers[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -f "/tmp/$run_id.env"
}
trap cleanup EXIT

# ---- Build --------------------------------------------------------------------------------------------
t0=$(now)
build() {
  DOCKER_BUILDKIT=0 docker build -q --network host --build-arg "NODE_IMAGE=$base" "$@" . >/tmp/provisio-docker-build.log 2>&1 \
    || { tail -n 30 /tmp/provisio-docker-build.log >&2; fail "docker build $*"; }
}
build --target build -t "$build_stage"
build -t "$image"   # the build stage again from its cached layers, then the runtime stage
build_seconds=$(since "$t0")
docker image prune -f >/dev/null 2>&1 || true   # the previous build's layers, now untagged
size=$(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }')
say "built in ${build_seconds} s, image size ${size}, $(docker run --rm --entrypoint node "$image" --version)"

# ---- Helpers ------------------------------------------------------------------------------------------
# A README line, checked verbatim, then given this test's names: container "provisio", port 8080, volume
# "provisio-data", env file "provisio.env" and image "provisio" become this run's own.
readme_line() {
  local line="$1"
  grep -qxF "$line" <(sed -E 's/[[:space:]]+#.*$//; s/[[:space:]]+$//' README.md) || fail "README.md does not contain the line: $line"
  case "$line" in
    "docker run "*)
      sed -E -e "s/--name provisio /--name $name /; s/-p 8080:8080/-p 127.0.0.1:$port:8080/; s/provisio-data:/$volume:/" \
        -e "s#provisio\\.env#/tmp/$run_id.env#; s/ provisio\$/ $image/" <<<"$line" ;;
    *) sed -E "s/^docker ([a-z]+) provisio( |\$)/docker \\1 $name\\2/" <<<"$line" ;;
  esac
}

# Runs a README line (see readme_line); prints what the command prints.
run_readme() {
  local command
  command=$(readme_line "$1") || exit 1
  eval "$command"
}

wait_healthy() {
  local started=$1 status
  for _ in $(seq 1 120); do
    status=$(docker inspect -f '{{.State.Health.Status}} {{.State.Status}}' "$name")
    case "$status" in
      "healthy running") echo "$(since "$started")"; return 0 ;;
      *exited*|*dead*) fail "$name exited: $status" ;;
    esac
    sleep 0.5
  done
  fail "$name not healthy after 60 s ($status)"
}

wait_listening() {
  local started=$1
  for _ in $(seq 1 240); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then echo "$(since "$started")"; return 0; fi
    sleep 0.25
  done
  fail "$name never answered /healthz"
}

scim() {
  local method=$1 path=$2 body=${3:-}
  curl -sS -X "$method" -H "Authorization: Bearer $token" -H 'Content-Type: application/scim+json' \
    ${body:+--data "$body"} -w '\n%{http_code}' "http://127.0.0.1:$port/scim/v2/acme$path"
}

exercise() {
  local mode=$1 run_line=$2
  name="provisio-$run_id-$mode"
  port=$(free_port)
  volume="provisio-data-$run_id"
  containers+=("$name")
  volumes+=("$volume")

  local started; started=$(now)
  run_readme "$run_line" >/dev/null || fail "$mode: docker run"
  local listening healthy
  listening=$(wait_listening "$started") || exit 1
  healthy=$(wait_healthy "$started") || exit 1
  say "$mode: answering after ${listening} s, healthy after ${healthy} s"

  local created
  created=$(run_readme 'docker exec provisio provisio tenant create acme --json') || fail "$mode: tenant create"
  token=$(node -e "console.log(JSON.parse(require('fs').readFileSync(0,'utf8')).token)" <<<"$created")
  local res
  res=$(scim POST /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@acme.example","emails":[{"value":"alice@acme.example","primary":true}]}')
  [ "$(tail -n1 <<<"$res")" = 201 ] || fail "$mode: POST /Users answered $res"
  # The web console is in the image: its page and the script the page names.
  local page script
  page=$(curl -fsS "http://127.0.0.1:$port/console/") || fail "$mode: /console/ did not answer"
  script=$(grep -o '/console/assets/[^"]*\.js' <<<"$page" | head -n1)
  [ -n "$script" ] && curl -fsS -o /dev/null "http://127.0.0.1:$port$script" || fail "$mode: the console page or its script is missing: ${page:0:200}"
  say "$mode: web console served ($script)"

  started=$(now)
  run_readme 'docker restart provisio' >/dev/null || fail "$mode: docker restart"
  wait_listening "$started" >/dev/null || exit 1
  say "$mode: restarted, answering after $(since "$started") s"
  res=$(scim GET '/Users?filter=userName%20eq%20%22alice@acme.example%22')
  [ "$(tail -n1 <<<"$res")" = 200 ] && grep -q '"totalResults":1' <<<"$res" || fail "$mode: the user did not survive the restart: $res"
  local ready
  ready=$(curl -sS "http://127.0.0.1:$port/readyz")
  say "$mode: /readyz $ready"

  started=$(now)
  docker kill --signal TERM "$name" >/dev/null
  timeout 10 docker wait "$name" >/dev/null || fail "$mode: still running 10 s after SIGTERM"
  local code; code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
  [ "$code" = 0 ] || fail "$mode: exited $code after SIGTERM"
  say "$mode: SIGTERM, exit 0 after $(since "$started") s"
}

# ---- Production safety ----------------------------------------------------------------------------------
set +e
refusal=$(docker run --rm "$image" 2>&1)
refusal_code=$?
set -e
[ "$refusal_code" = 2 ] && grep -q 'AUTH0_EMULATOR=true' <<<"$refusal" || fail "without Auth0 the image should refuse to start (exit 2), got $refusal_code: $refusal"
say "no Auth0 configured: refused, exit 2: ${refusal:0:100}…"

# ---- Zero-config ----------------------------------------------------------------------------------------
exercise zero-config 'docker run -d --name provisio -p 8080:8080 -v provisio-data:/data -e AUTH0_EMULATOR=true provisio'

# ---- PostgreSQL + Auth0 ---------------------------------------------------------------------------------
# The container reaches this machine's PostgreSQL (listening on loopback only) and an Auth0 emulator through
# the Docker bridge's gateway address.
gateway=$(ip -4 -o addr show docker0 | awk '{ split($4, a, "/"); print a[1] }')
[ -n "$gateway" ] || fail "no docker0 address"
pg_port=$(free_port)
node -e "
  const net = require('net');
  net.createServer((c) => { const u = net.connect(5432, '127.0.0.1'); c.pipe(u).pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); })
    .listen($pg_port, '$gateway');" &
helpers+=($!)
database="provisio_container_$run_id"
node -e "
  const pg = require('pg');
  const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test' });
  c.connect().then(() => c.query('create database $database')).then(() => c.end()).catch((e) => { console.error(e.message); process.exit(1); });" \
  || fail "cannot create the test database"
drop_database() {
  node -e "
    const pg = require('pg');
    const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test' });
    c.connect().then(() => c.query('drop database if exists $database with (force)')).then(() => c.end()).catch(() => process.exit(0));" || true
}
trap 'cleanup; drop_database' EXIT
emulator_out="/tmp/$run_id-emulator.json"
node bin/provisio.js auth0-emulator --host "$gateway" --port 0 >"$emulator_out" &
helpers+=($!)
for _ in $(seq 1 60); do [ -s "$emulator_out" ] && break; sleep 0.5; done
[ -s "$emulator_out" ] || fail "the Auth0 emulator did not start"
node -e "
  const e = JSON.parse(require('fs').readFileSync('$emulator_out', 'utf8'));
  console.log([
    'DATABASE_URL=postgres://postgres@$gateway:$pg_port/$database',
    'AUTH0_BASE_URL=' + e.baseUrl,
    'AUTH0_CLIENT_ID=' + e.client.clientId,
    'AUTH0_CLIENT_SECRET=' + e.client.clientSecret,
    'PROVISIO_ENCRYPTION_KEY=' + require('crypto').randomBytes(32).toString('base64'),
  ].join('\n'));" >"/tmp/$run_id.env"
rm -f "$emulator_out"
exercise postgres 'docker run -d --name provisio -p 8080:8080 --env-file provisio.env provisio'

say "passed: image ${size}, built in ${build_seconds} s"
