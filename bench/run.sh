#!/usr/bin/env bash
# tsmigrate benchmark: the same generated time-series table copied by tsmigrate, by pgcopydb clone and by
# the procedure's pg_dump + psql \copy route, each run alternating, best wall time kept, one Markdown table
# at the end (also written to bench/results/). See bench/README.md.
#
# usage: bench/run.sh [--rows N] [--runs K] [--source-uri URI --target-admin-uri URI] [--jar PATH]
#                     [--workers N] [--chunk-interval INTERVAL] [--only tsmigrate,pgcopydb,psql]
#                     [--work-root DIR] [--keep] [--idle-wait SECONDS]
set -euo pipefail

ROWS=10080000
RUNS=2
JAR=target/tsmigrate.jar
WORKERS=4
CHUNK_INTERVAL='1 day'
ONLY=tsmigrate,pgcopydb,psql
SOURCE_URI_ARG=
TARGET_ADMIN_URI_ARG=
WORK_ROOT=${TMPDIR:-/tmp}
KEEP=0
IDLE_WAIT=300                # seconds to wait, before each run, for other work on the machine to calm down
SPAN_DAYS=30                 # the dataset's rows are spread evenly over this many days
TABLE=metrics
TARGET_DB=tsbench_target
SOURCE_DB=tsbench_source
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT_DIR=$(cd "$BENCH_DIR/.." && pwd)

usage() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

  --rows N                 rows in the generated table (default 10080000, about 1.37 GB with its index)
  --runs K                 runs of each contender, alternating A B C A B C ...; the best is kept (default 2)
  --source-uri URI         use this database as the source instead of a throwaway cluster: the script
                           (re)creates table public.metrics in it, and every table in it is migrated
  --target-admin-uri URI   a database on the target server from which the script may
                           DROP/CREATE DATABASE tsbench_target (each run gets a fresh one)
  --jar PATH               tsmigrate's jar (default target/tsmigrate.jar, relative to the project)
  --workers N              tsmigrate --workers (default 4)
  --chunk-interval I       tsmigrate --chunk-interval (default '1 day': 30 chunks over the 30 days)
  --only LIST              comma list of tsmigrate (all four variants), tsmigrate-verify, tsmigrate-noverify,
                           tsmigrate-csv, tsmigrate-stream, pgcopydb, psql (default all)
  --work-root DIR          where the clusters, CSV files and logs go (default $TMPDIR or /tmp)
  --keep                   keep that folder (clusters stopped) instead of deleting it at exit
  --idle-wait SECONDS      before each run, wait up to this long until the machine is idle (other work below
                           a quarter of one core over 3 s); 0 = do not wait (default 300)
EOF
}

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
is_true() { awk "BEGIN { exit !($1) }"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --source-uri) SOURCE_URI_ARG=${2:?}; shift 2 ;;
    --target-admin-uri) TARGET_ADMIN_URI_ARG=${2:?}; shift 2 ;;
    --jar) JAR=${2:?}; shift 2 ;;
    --workers) WORKERS=${2:?}; shift 2 ;;
    --chunk-interval) CHUNK_INTERVAL=${2:?}; shift 2 ;;
    --only) ONLY=${2:?}; shift 2 ;;
    --work-root) WORK_ROOT=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --idle-wait) IDLE_WAIT=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ $ROWS =~ ^[1-9][0-9]*$ ]] || die "--rows must be a positive integer"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || die "--workers must be a positive integer"
[[ $IDLE_WAIT =~ ^[0-9]+$ ]] || die "--idle-wait must be a number of seconds"
if { [ -n "$SOURCE_URI_ARG" ] && [ -z "$TARGET_ADMIN_URI_ARG" ]; } || { [ -z "$SOURCE_URI_ARG" ] && [ -n "$TARGET_ADMIN_URI_ARG" ]; }; then
  die "--source-uri and --target-admin-uri go together"
fi
case "$JAR" in /*) ;; *) JAR="$PROJECT_DIR/$JAR" ;; esac

# Contenders, in the order they alternate.
CONTENDERS=()
IFS=',' read -r -a only_list <<<"$ONLY"
want() { local w; for w in "${only_list[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
for w in "${only_list[@]}"; do
  case "$w" in tsmigrate|tsmigrate-verify|tsmigrate-noverify|tsmigrate-csv|tsmigrate-stream|pgcopydb|psql) ;; *) die "--only: unknown contender '$w'" ;; esac
done
if want tsmigrate || want tsmigrate-verify; then CONTENDERS+=(tsmigrate-verify); fi
if want tsmigrate || want tsmigrate-noverify; then CONTENDERS+=(tsmigrate-noverify); fi
if want tsmigrate || want tsmigrate-csv; then CONTENDERS+=(tsmigrate-csv); fi
if want tsmigrate || want tsmigrate-stream; then CONTENDERS+=(tsmigrate-stream); fi
if want pgcopydb; then CONTENDERS+=(pgcopydb); fi
if want psql; then CONTENDERS+=(psql); fi
[ ${#CONTENDERS[@]} -gt 0 ] || die "--only selects nothing"
uses_tsmigrate() { [[ " ${CONTENDERS[*]} " == *" tsmigrate-"* ]]; }
uses() { [[ " ${CONTENDERS[*]} " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------------------------------
# Tools: install what is missing (Debian packages), as root only.
PG_BIN=/usr/lib/postgresql/15/bin
need_pkgs=()
[ -x /usr/bin/time ] || need_pkgs+=(time)
command -v psql >/dev/null && command -v pg_dump >/dev/null && command -v pg_restore >/dev/null || need_pkgs+=(postgresql-client-15)
if [ -z "$SOURCE_URI_ARG" ] && [ ! -x "$PG_BIN/initdb" ]; then need_pkgs+=(postgresql-15); fi
if uses pgcopydb && ! command -v pgcopydb >/dev/null; then need_pkgs+=(pgcopydb); fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need_pkgs[*]}: install them (apt-get install ${need_pkgs[*]}) or run as root"
  log "installing ${need_pkgs[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  if ! apt-get install -y -q "${need_pkgs[@]}" >/dev/null; then
    # pgcopydb alone may be missing from the distribution: go on without it, say so.
    if [[ " ${need_pkgs[*]} " == *" pgcopydb "* ]]; then
      others=(); for p in "${need_pkgs[@]}"; do [ "$p" = pgcopydb ] || others+=("$p"); done
      [ ${#others[@]} -eq 0 ] || apt-get install -y -q "${others[@]}" >/dev/null
      log "WARNING: pgcopydb could not be installed; it is left out of this run"
      keep=(); for c in "${CONTENDERS[@]}"; do [ "$c" = pgcopydb ] || keep+=("$c"); done; CONTENDERS=("${keep[@]}")
    else
      die "apt-get install ${need_pkgs[*]} failed"
    fi
  fi
fi
if uses_tsmigrate; then
  [ -f "$JAR" ] || die "no jar at $JAR (build it, or pass --jar)"
  command -v java >/dev/null || die "java not found"
fi

# ---------------------------------------------------------------------------------------------------
# Work folder and cleanup.
mkdir -p "$WORK_ROOT"
TMP=$(mktemp -d "$WORK_ROOT/tsbench.XXXXXX")
chmod 711 "$TMP"
mkdir -m 700 "$TMP/runs"
CLUSTERS=()
cleanup() {
  local rc=$?
  set +e
  local d
  for d in "${CLUSTERS[@]}"; do as_pg "$PG_BIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1; done
  if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
gen_password() { od -An -tx1 -N18 /dev/urandom | tr -d ' \n'; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local i p
  for ((i = 0; i < 500; i++)); do
    p=$((20000 + RANDOM % 40000))
    port_free "$p" && { echo "$p"; return 0; }
  done
  die "no free port found"
}

# Passwords never reach argv or the output: they live in these variables and go to the tools through
# PGPASSWORD, PGCOPYDB_*_PGURI or a job file that reads ${env:...}. mask() hides them in log excerpts.
SECRETS=()
mask() {
  local line s
  while IFS= read -r line; do
    for s in "${SECRETS[@]}"; do [ -n "$s" ] && line=${line//"$s"/****}; done
    printf '%s\n' "$line"
  done
}
urldecode() { local s=${1//\\/\\\\}; printf '%b' "${s//%/\\x}"; }
# split_uri URI: REPLY_URI = URI without the password, REPLY_PW = the password (decoded, maybe empty)
split_uri() {
  local uri=$1 re='^(postgres(ql)?://)([^@/?]*@)?(.*)$'
  [[ $uri =~ $re ]] || die "not a postgresql:// URI (password hidden)"
  local scheme=${BASH_REMATCH[1]} userinfo=${BASH_REMATCH[3]} rest=${BASH_REMATCH[4]} user= pw=
  if [ -n "$userinfo" ]; then
    userinfo=${userinfo%@}
    if [[ $userinfo == *:* ]]; then user=${userinfo%%:*}; pw=${userinfo#*:}; else user=$userinfo; fi
  fi
  REPLY_PW=$(urldecode "$pw")
  REPLY_URI="$scheme${user:+$user@}$rest"
}
# with_db URI DB: the same URI naming another database
with_db() {
  local uri=$1 db=$2 q='' scheme hostpart
  if [[ $uri == *\?* ]]; then q="?${uri#*\?}"; uri=${uri%%\?*}; fi
  scheme=${uri%%://*}; hostpart=${uri#*://}; hostpart=${hostpart%%/*}
  printf '%s://%s/%s%s' "$scheme" "$hostpart" "$db" "$q"
}

start_cluster() { # start_cluster NAME PASSWORD -> prints port
  local name=$1 pw=$2 d="$TMP/pg/$1" port
  mkdir -p "$d"
  chown postgres:postgres "$TMP/pg" "$d" 2>/dev/null || true
  printf '%s\n' "$pw" >"$TMP/pg/$name.pw"
  chown postgres "$TMP/pg/$name.pw" 2>/dev/null || true
  chmod 600 "$TMP/pg/$name.pw"
  as_pg "$PG_BIN/initdb" -D "$d/data" -U postgres -E UTF8 --locale=C --auth=scram-sha-256 \
    --pwfile="$TMP/pg/$name.pw" >"$d/initdb.log" 2>&1 || { cat "$d/initdb.log" >&2; die "initdb $name failed"; }
  rm -f "$TMP/pg/$name.pw"
  port=$(free_port)
  cat >>"$d/data/postgresql.conf" <<EOF
# tsmigrate benchmark: the same settings on both clusters, for every contender
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$d'
password_encryption = 'scram-sha-256'
fsync = off
shared_buffers = '256MB'
max_wal_size = '4GB'
EOF
  cat >"$d/data/pg_hba.conf" <<EOF
local all all scram-sha-256
host  all all 127.0.0.1/32 scram-sha-256
EOF
  as_pg "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 120 start >/dev/null ||
    { tail -20 "$d/server.log" >&2; die "cluster $name did not start"; }
  CLUSTERS+=("$d/data")
  echo "$port"
}

# ---------------------------------------------------------------------------------------------------
# Source and target.
FSYNC_NOTE="servers given by URI: their own settings"
if [ -z "$SOURCE_URI_ARG" ]; then
  SRC_PW=$(gen_password); TADM_PW=$(gen_password); SECRETS+=("$SRC_PW" "$TADM_PW")
  log "creating two throwaway PostgreSQL 15 clusters in $TMP/pg (fsync=off on both, shared_buffers=256MB, max_wal_size=4GB)"
  start_cluster source "$SRC_PW" >"$TMP/source.port"
  start_cluster target "$TADM_PW" >"$TMP/target.port"
  SRC_PORT=$(cat "$TMP/source.port"); TGT_PORT=$(cat "$TMP/target.port")
  SRC_URI="postgresql://postgres@127.0.0.1:$SRC_PORT/$SOURCE_DB"
  SRC_FULL="postgresql://postgres:$SRC_PW@127.0.0.1:$SRC_PORT/$SOURCE_DB"
  TADM_URI="postgresql://postgres@127.0.0.1:$TGT_PORT/postgres"
  TGT_URI="postgresql://postgres@127.0.0.1:$TGT_PORT/$TARGET_DB"
  TGT_FULL="postgresql://postgres:$TADM_PW@127.0.0.1:$TGT_PORT/$TARGET_DB"
  FSYNC_NOTE="two local PostgreSQL 15 clusters, fsync=off on both (same for every contender), shared_buffers=256MB, max_wal_size=4GB, scram password auth over 127.0.0.1"
  PGPASSWORD=$SRC_PW psql "postgresql://postgres@127.0.0.1:$SRC_PORT/postgres" -X -q -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE $SOURCE_DB" >/dev/null
  log "source 127.0.0.1:$SRC_PORT/$SOURCE_DB, target 127.0.0.1:$TGT_PORT/$TARGET_DB (user postgres, generated passwords)"
else
  split_uri "$SOURCE_URI_ARG"; SRC_URI=$REPLY_URI; SRC_PW=$REPLY_PW; SRC_FULL=$SOURCE_URI_ARG
  split_uri "$TARGET_ADMIN_URI_ARG"; TADM_URI=$REPLY_URI; TADM_PW=$REPLY_PW
  TGT_URI=$(with_db "$TADM_URI" "$TARGET_DB"); TGT_FULL=$(with_db "$TARGET_ADMIN_URI_ARG" "$TARGET_DB")
  SECRETS+=("$SRC_PW" "$TADM_PW")
fi
TGT_PW=$TADM_PW

# the script's own SQL: NOTICEs (DROP ... IF EXISTS) stay quiet; the contenders' sessions are left as they are
QUIET="${PGOPTIONS:-} -c client_min_messages=warning"
src_sql() { PGOPTIONS=$QUIET PGPASSWORD=$SRC_PW psql "$SRC_URI" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
tadm_sql() { PGOPTIONS=$QUIET PGPASSWORD=$TADM_PW psql "$TADM_URI" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
tgt_sql() { PGOPTIONS=$QUIET PGPASSWORD=$TGT_PW psql "$TGT_URI" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

src_sql -c 'SELECT 1' >/dev/null || die "cannot connect to the source"
tadm_sql -c 'SELECT 1' >/dev/null || die "cannot connect to the target admin database"

# ---------------------------------------------------------------------------------------------------
# Dataset: one table, ~136 bytes per row on disk with its index; 10.08M rows ~ 1.37 GB.
MARK="tsbench rows=$ROWS span=${SPAN_DAYS}d v2"
existing=$(src_sql -c "SELECT obj_description('public.$TABLE'::regclass, 'pg_class')" 2>/dev/null || true)
if [ "$existing" = "$MARK" ]; then
  log "source already holds the dataset ($MARK): reusing it"
else
  log "generating $ROWS rows in the source (generate_series, ${SPAN_DAYS} days), then index, VACUUM FREEZE, ANALYZE"
  t0=$(date +%s.%N)
  src_sql >/dev/null <<SQL
DROP TABLE IF EXISTS public.$TABLE;
CREATE TABLE public.$TABLE (
    time        timestamptz      NOT NULL,
    device_id   integer          NOT NULL,
    temperature double precision,
    humidity    double precision,
    payload     jsonb,
    note        text
);
SELECT setseed(0.42);
INSERT INTO public.$TABLE
SELECT to_timestamp(1704067200 + (i - 1) * ($SPAN_DAYS * 86400.0 / $ROWS)),
       i % 1000,
       round((20 + 10 * sin(i / 5000.0) + random())::numeric, 3),
       round((random() * 100)::numeric, 2),
       jsonb_build_object('fw', 'v2.' || (i % 17), 'ok', i % 13 <> 0),
       'device-' || (i % 1000) || ' ' || (ARRAY['ok','warn','fail','idle','state ok','state warn','state fail','state idle'])[1 + i % 8]
FROM generate_series(1, $ROWS) AS i;
CREATE INDEX ${TABLE}_time_idx ON public.$TABLE (time);
VACUUM (FREEZE, ANALYZE) public.$TABLE;
COMMENT ON TABLE public.$TABLE IS '$MARK';
SQL
  log "generated in $(printf '%.1f' "$(calc "$(date +%s.%N) - $t0")") s"
fi
read -r DATA_BYTES HEAP_BYTES INDEX_BYTES DATA_PRETTY < <(src_sql -F ' ' -c "SELECT pg_total_relation_size('public.$TABLE'),
  pg_table_size('public.$TABLE'), pg_indexes_size('public.$TABLE'), replace(pg_size_pretty(pg_total_relation_size('public.$TABLE')), ' ', '')")
SRC_ROWS=$(src_sql -c "SELECT count(*) FROM public.$TABLE")
[ "$SRC_ROWS" = "$ROWS" ] || die "source table holds $SRC_ROWS rows, expected $ROWS"
DATASET_LINE=$(printf '%s rows, %s bytes = %.2f GB (pg_total_relation_size: table %s + index %s; %s), %.0f bytes/row' \
  "$ROWS" "$DATA_BYTES" "$(calc "$DATA_BYTES / 1000000000")" "$HEAP_BYTES" "$INDEX_BYTES" "$DATA_PRETTY" \
  "$(calc "$DATA_BYTES / $ROWS")")
log "dataset: $DATASET_LINE"
NCHUNKS_NOTE="--chunk-interval '$CHUNK_INTERVAL' over $SPAN_DAYS days"
if [ "$CHUNK_INTERVAL" = '1 day' ]; then
  NCHUNKS_NOTE="--chunk-interval '1 day': $SPAN_DAYS chunks of ~$((ROWS / SPAN_DAYS)) rows (~$((DATA_BYTES / SPAN_DAYS / 1000000)) MB) each"
fi

# ---------------------------------------------------------------------------------------------------
# Contenders. Each writes into its run folder: wall (s), rss (KiB), heap (MiB or n/a), detail.md.
timed() { # timed FILE CMD...: /usr/bin/time's "%e %M %U %S" (wall s, peak RSS KiB, user s, sys s) into FILE; returns the command's status
  /usr/bin/time -f '%e %M %U %S' -o "$1" "${@:2}"
}
last_line() { tail -n 1 "$1"; }

write_job() { # write_job FILE: a job file whose passwords come from the environment
  {
    echo "source:"
    echo "  uri: '$SRC_URI'"
    [ -z "$SRC_PW" ] || echo '  password: ${env:TSBENCH_SOURCE_PASSWORD}'
    echo "target:"
    echo "  uri: '$TGT_URI'"
    [ -z "$TGT_PW" ] || echo '  password: ${env:TSBENCH_TARGET_PASSWORD}'
  } >"$1"
  chmod 600 "$1"
}

run_tsmigrate() { # run_tsmigrate DIR verify|noverify
  local dir=$1 mode=$2 extra=()
  [ "$mode" = noverify ] && extra+=(--no-verify)
  [ "$mode" = csv ] && extra+=(--format csv --no-verify)
  [ "$mode" = stream ] && extra+=(--stream --no-verify)
  write_job "$dir/job.yaml"
  # cwd = the run folder, so the routes built into the jar are used (no ./routes there); started the way
  # users start it, through bin/tsmigrate and its JVM settings (JAVA_OPTS, when set, replaces them)
  local rc=0
  (cd "$dir" && export TSMIGRATE_JAR=$JAR && { [ -z "${JAVA_OPTS+x}" ] || export TSMIGRATE_JAVA_OPTS=$JAVA_OPTS; } &&
    TSBENCH_SOURCE_PASSWORD=$SRC_PW TSBENCH_TARGET_PASSWORD=$TGT_PW \
    timed "$dir/time" "$PROJECT_DIR/bin/tsmigrate" migrate --job job.yaml --work-dir "$dir/work" \
      --workers "$WORKERS" --chunk-interval "$CHUNK_INTERVAL" "${extra[@]}" >"$dir/out.log" 2>&1) || rc=$?
  rm -rf "$dir/work"/*/ 2>/dev/null || true   # the CSV files; dumps, plan and summary stay
  [ $rc -eq 0 ] || return $rc
  read -r wall rss usr sys < <(last_line "$dir/time")
  echo "$wall" >"$dir/wall"; echo "$rss" >"$dir/rss"; calc "$usr + $sys" >"$dir/cpu"
  local heap
  heap=$(sed -n 's/^JVM peak heap: \([0-9][0-9]*\) MiB.*/\1/p' "$dir/out.log" | tail -n 1)
  echo "${heap:-n/a}" >"$dir/heap"
  heap=$(sed -n 's/^JVM peak heap: .*after [a-z ]*GC, peak: \([0-9][0-9]*\) MiB.*/\1/p' "$dir/out.log" | tail -n 1)
  echo "${heap:-n/a}" >"$dir/heapgc"
  # tsmigrate's own per-step summary
  awk '/^Migration summary:/{p=1} p' "$dir/out.log" | mask >"$dir/detail.txt"
}

run_pgcopydb() {
  local dir=$1
  PGCOPYDB_SOURCE_PGURI=$SRC_FULL PGCOPYDB_TARGET_PGURI=$TGT_FULL \
    timed "$dir/time" pgcopydb clone --table-jobs 2 --index-jobs 2 --dir "$dir/pgcopydb" >"$dir/out.log" 2>&1
  rm -rf "$dir/pgcopydb"
  read -r wall rss usr sys < <(last_line "$dir/time")
  echo "$wall" >"$dir/wall"; echo "$rss" >"$dir/rss"; echo "n/a" >"$dir/heap"; calc "$usr + $sys" >"$dir/cpu"
  # pgcopydb's own timing table (Step / Connection / Duration / Concurrency)
  sed -n 's/^.*INFO  *//; /Step .*Connection .*Duration/,$p' "$dir/out.log" | mask >"$dir/detail.txt" || true
  [ -s "$dir/detail.txt" ] || grep -E 'Duration|Total Wall' "$dir/out.log" | mask >"$dir/detail.txt" || true
}

run_psql() {
  local dir=$1 step csv="$dir/$TABLE.csv"
  local q="\\copy (SELECT * FROM public.$TABLE) TO '$csv' WITH (FORMAT csv)"
  local qi="\\copy public.$TABLE FROM '$csv' WITH (FORMAT csv)"
  PGPASSWORD=$SRC_PW timed "$dir/t.pre_dump" pg_dump -Fc --section=pre-data --exclude-schema='_timescaledb*' \
    -f "$dir/dump_pre_data.bak" "$SRC_URI" >>"$dir/out.log" 2>&1
  PGPASSWORD=$TGT_PW timed "$dir/t.pre_restore" pg_restore --no-owner -Fc -d "$TGT_URI" "$dir/dump_pre_data.bak" >>"$dir/out.log" 2>&1
  PGPASSWORD=$SRC_PW timed "$dir/t.copy_out" psql "$SRC_URI" -X -q -v ON_ERROR_STOP=1 -c "$q" >>"$dir/out.log" 2>&1
  PGPASSWORD=$TGT_PW timed "$dir/t.copy_in" psql "$TGT_URI" -X -q -v ON_ERROR_STOP=1 -c "$qi" >>"$dir/out.log" 2>&1
  rm -f "$csv"
  PGPASSWORD=$SRC_PW timed "$dir/t.post_dump" pg_dump -Fc --section=post-data --exclude-schema='_timescaledb*' \
    -f "$dir/dump_post_data.bak" "$SRC_URI" >>"$dir/out.log" 2>&1
  PGPASSWORD=$TGT_PW timed "$dir/t.post_restore" pg_restore --no-owner -Fc -d "$TGT_URI" "$dir/dump_post_data.bak" >>"$dir/out.log" 2>&1
  PGPASSWORD=$TGT_PW timed "$dir/t.analyze" psql "$TGT_URI" -X -q -v ON_ERROR_STOP=1 -c "ANALYZE" >>"$dir/out.log" 2>&1
  local total=0 rss=0 cpu=0 w r u sy
  : >"$dir/detail.txt"
  for step in pre_dump pre_restore copy_out copy_in post_dump post_restore analyze; do
    read -r w r u sy < <(last_line "$dir/t.$step")
    total=$(calc "$total + $w"); cpu=$(calc "$cpu + $u + $sy")
    [ "$r" -gt "$rss" ] && rss=$r
    printf '  %-13s %8.2f s   peak RSS %6d KiB\n' "$step" "$w" "$r" >>"$dir/detail.txt"
  done
  echo "$total" >"$dir/wall"; echo "$rss" >"$dir/rss"; echo "n/a" >"$dir/heap"; echo "$cpu" >"$dir/cpu"
  read -r w r _ < <(last_line "$dir/t.copy_out"); echo "$w $r" >"$dir/copy_out"
  read -r w r _ < <(last_line "$dir/t.copy_in"); echo "$w $r" >"$dir/copy_in"
}

fresh_target() {
  tadm_sql -c "DROP DATABASE IF EXISTS $TARGET_DB WITH (FORCE)" -c "CREATE DATABASE $TARGET_DB" >/dev/null
  # flush what earlier runs left dirty, so it is not paid by this one (needs superuser or pg_checkpoint)
  tadm_sql -c CHECKPOINT >/dev/null 2>&1 || true
  src_sql -c CHECKPOINT >/dev/null 2>&1 || true
}

check_target() { # the copy is complete: same row count, the index exists
  local n idx
  n=$(tgt_sql -c "SELECT count(*) FROM public.$TABLE" 2>/dev/null || echo none)
  idx=$(tgt_sql -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename = '$TABLE'" 2>/dev/null || echo 0)
  [ "$n" = "$ROWS" ] && [ "$idx" -ge 1 ] && return 0
  log "  target check failed: $n rows (expected $ROWS), $idx indexes on $TABLE"
  return 1
}

# CPU seconds, to tell how busy the machine was with other work during a run: the whole machine's busy time
# (/proc/stat), the throwaway servers' (their postmasters with their reaped backends) and the contender's own.
TICK=$(getconf CLK_TCK 2>/dev/null || echo 100)
machine_cpu() { awk -v t="$TICK" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / t }' /proc/stat; }
servers_cpu() {
  local d pid sum=0
  for d in "${CLUSTERS[@]}"; do
    pid=$(head -n 1 "$d/postmaster.pid" 2>/dev/null) || continue
    sum=$(calc "$sum + $(awk -v t="$TICK" '{ printf "%.2f", ($14 + $15 + $16 + $17) / t }' "/proc/$pid/stat" 2>/dev/null || echo 0)")
  done
  echo "$sum"
}
wait_idle() { # until 3 s pass with the machine (servers included: they should be idle now) below 0.25 cores busy
  local waited=0 a b busy
  [ "$IDLE_WAIT" -gt 0 ] || return 0
  while :; do
    a=$(machine_cpu); sleep 3; b=$(machine_cpu)
    busy=$(calc "($b - $a) / 3")
    is_true "$busy < 0.25" && return 0
    if [ "$waited" -ge "$IDLE_WAIT" ]; then
      log "  the machine is still busy ($(printf '%.2f' "$busy") cores in use by other work); running anyway"
      return 0
    fi
    [ "$waited" -eq 0 ] && log "  waiting for the machine to be idle ($(printf '%.2f' "$busy") cores in use by other work)"
    waited=$((waited + 3))
  done
}
FAILED=()
RUNLOG="$TMP/runlog"
: >"$RUNLOG"
run_one() { # run_one CONTENDER RUN
  local c=$1 r=$2 dir="$TMP/runs/$1-$2" rc=0 load m0 s0 m1 s1
  mkdir -p "$dir"
  fresh_target
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  log "run $r/$RUNS: $c (load $load)"
  wait_idle
  m0=$(machine_cpu); s0=$(servers_cpu)
  set +e
  (
    set -e
    case "$c" in
      tsmigrate-verify) run_tsmigrate "$dir" verify ;;
      tsmigrate-noverify) run_tsmigrate "$dir" noverify ;;
      tsmigrate-csv) run_tsmigrate "$dir" csv ;;
      tsmigrate-stream) run_tsmigrate "$dir" stream ;;
      pgcopydb) run_pgcopydb "$dir" ;;
      psql) run_psql "$dir" ;;
    esac
  )
  rc=$?
  set -e
  m1=$(machine_cpu); s1=$(servers_cpu)
  local own=n/a srv=n/a other=n/a wall=failed
  [ -f "$dir/cpu" ] && own=$(printf '%.1f' "$(cat "$dir/cpu")")
  [ -f "$dir/wall" ] && wall=$(printf '%.2f' "$(cat "$dir/wall")")
  if [ ${#CLUSTERS[@]} -gt 0 ]; then
    srv=$(printf '%.1f' "$(calc "$s1 - $s0")")
    [ "$own" = n/a ] || other=$(printf '%.1f' "$(calc "$m1 - $m0 - $s1 + $s0 - $own")")
  fi
  echo "| $r | $c | $wall | $own | $srv | $other | $load |" >>"$RUNLOG"
  if [ $rc -eq 0 ] && check_target; then
    log "  $c: $(printf '%.2f' "$(cat "$dir/wall")") s, peak RSS $(($(cat "$dir/rss") / 1024)) MiB, JVM peak heap $(cat "$dir/heap")"
  else
    log "  $c run $r FAILED (exit $rc); last lines of its output:"
    tail -n 25 "$dir/out.log" 2>/dev/null | mask >&2 || true
    rm -f "$dir/wall"
    FAILED+=("$c#$r")
  fi
}

T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= RUNS; r++)); do
  for c in "${CONTENDERS[@]}"; do run_one "$c" "$r"; done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------------
# Report.
best_run() { # best_run CONTENDER -> run folder of the best (lowest wall) successful run
  local c=$1 r best='' bw=''
  for ((r = 1; r <= RUNS; r++)); do
    local d="$TMP/runs/$c-$r"
    [ -f "$d/wall" ] || continue
    if [ -z "$bw" ] || is_true "$(cat "$d/wall") < $bw"; then bw=$(cat "$d/wall"); best=$d; fi
  done
  echo "$best"
}
all_walls() { local c=$1 r out=''; for ((r = 1; r <= RUNS; r++)); do
  if [ -f "$TMP/runs/$c-$r/wall" ]; then out+="${out:+, }$(printf '%.1f' "$(cat "$TMP/runs/$c-$r/wall")")"; else out+="${out:+, }failed"; fi
done; echo "$out"; }

PGC_BEST=''
if uses pgcopydb; then d=$(best_run pgcopydb); [ -z "$d" ] || PGC_BEST=$(cat "$d/wall"); fi
ratio() { if [ -n "$PGC_BEST" ]; then printf '%.2f' "$(calc "$PGC_BEST / $1")"; else echo n/a; fi; }
row() { # row NAME WALL RSS_KIB HEAP ALLRUNS [HEAP_AFTER_GC]
  local name=$1 w=$2 rss=$3 heap=$4 runs=$5 heapgc=${6:-n/a}
  printf '| %s | %.2f | %s | %'"'"'.0f | %.1f | %s | %s | %s | %s |\n' "$name" "$w" "$runs" "$(calc "$ROWS / $w")" \
    "$(calc "$DATA_BYTES / 1000000 / $w")" "$([ "$rss" = - ] && echo - || echo $((rss / 1024)))" "$heap" "$heapgc" "$(ratio "$w")"
}
label() { case "$1" in
  tsmigrate-verify) echo "tsmigrate migrate (files, --format auto = binary here, --workers $WORKERS, verify on)" ;;
  tsmigrate-noverify) echo "tsmigrate migrate (files, --format auto = binary here, --workers $WORKERS, --no-verify)" ;;
  tsmigrate-csv) echo "tsmigrate migrate (CSV files: --format csv, --workers $WORKERS, --no-verify)" ;;
  tsmigrate-stream) echo "tsmigrate migrate --stream (no files, --format auto, --workers $WORKERS, --no-verify)" ;;
  pgcopydb) echo "pgcopydb clone --table-jobs 2 --index-jobs 2" ;;
  psql) echo 'psql procedure (pg_dump pre-data, `\copy` out, `\copy` in, post-data, ANALYZE)' ;;
esac; }

commit_of_jar() {
  [ -n "${TSMIGRATE_COMMIT:-}" ] && { echo "$TSMIGRATE_COMMIT"; return; }
  local proj
  proj=$(cd "$(dirname "$JAR")/.." && pwd)
  if git -C "$proj" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    local h; h=$(git -C "$proj" rev-parse --short=12 HEAD)
    git -C "$proj" diff --quiet HEAD -- 2>/dev/null || h="$h (with uncommitted changes)"
    echo "$h"
  elif [ -f "$proj/COMMIT" ]; then head -c 40 "$proj/COMMIT"; echo
  else echo unknown; fi
}

REPORT="$TMP/report.md"
{
  echo "# tsmigrate benchmark, $ROWS rows, $(date '+%Y-%m-%d %H:%M %Z')"
  echo
  echo "- dataset: table public.$TABLE (timestamptz NOT NULL, int, 2 × double precision, jsonb, text; one index on time), $DATASET_LINE, over $SPAN_DAYS days"
  echo "- servers: $FSYNC_NOTE"
  echo "- source: $(src_sql -c 'SELECT version()')"
  echo "- target: $(tadm_sql -c 'SELECT version()'); fsync source=$(src_sql -c 'SHOW fsync') target=$(tadm_sql -c 'SHOW fsync')"
  echo "- machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) memory, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr)"
  echo "- load average (1/5/15 min) at start: $LOAD_START, at end: $LOAD_END"
  if uses_tsmigrate; then
    echo "- tsmigrate: $(cd "$TMP" && java -jar "$JAR" --version 2>/dev/null | head -n 1), commit $(commit_of_jar), $(java -version 2>&1 | head -n 1); started by bin/tsmigrate with $(if [ -n "${JAVA_OPTS+x}" ]; then echo "JAVA_OPTS=$JAVA_OPTS"; else sed -n 's/.*TSMIGRATE_JAVA_OPTS-\([^}]*\)}.*/\1/p' "$PROJECT_DIR/bin/tsmigrate"; fi)$(jsa=${JAR%.jar}.jsa; if [ -f "$jsa" ] && [ "$jsa" -nt "$JAR" ]; then echo " and the class-data-sharing archive $(basename "$jsa")"; fi); $NCHUNKS_NOTE"
  fi
  if uses pgcopydb; then echo "- pgcopydb: $(pgcopydb --version 2>&1 | grep -m1 -i 'pgcopydb version' | sed 's/.*pgcopydb version/version/')"; fi
  echo "- client tools: $(pg_dump --version), $(psql --version)"
  echo "- runs: $RUNS per contender, alternating (${CONTENDERS[*]}), each into a fresh empty target database; best wall time kept; total bench time $(( $(date +%s) - T_START )) s"
  echo
  echo "| contender | best wall s | all runs s | rows/s | MB/s | peak RSS MiB | JVM peak heap MiB | JVM live heap (after full GC), peak MiB | pgcopydb/contender |"
  echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  for c in "${CONTENDERS[@]}"; do
    d=$(best_run "$c")
    if [ -z "$d" ]; then echo "| $(label "$c") | failed | $(all_walls "$c") | | | | | | |"; continue; fi
    row "$(label "$c")" "$(cat "$d/wall")" "$(cat "$d/rss")" "$(cat "$d/heap")" "$(all_walls "$c")" "$(cat "$d/heapgc" 2>/dev/null || echo n/a)"
    if [ "$c" = psql ]; then
      read -r w rss <"$d/copy_out"; row '&nbsp;&nbsp;of which psql `\copy` out (to one CSV file)' "$w" "$rss" n/a "-"
      read -r w rss <"$d/copy_in"; row '&nbsp;&nbsp;of which psql `\copy` in (from that file)' "$w" "$rss" n/a "-"
    fi
  done
  echo
  echo "MB = 10^6 bytes of the source table with its index (pg_total_relation_size) per second of wall time."
  echo "Peak RSS is /usr/bin/time's maximum resident set of the largest process (the JVM, pgcopydb's largest"
  echo "process, psql or pg_dump); the server processes are not counted. pgcopydb/contender > 1 means faster than pgcopydb."
  echo
  echo "## Goal checks (at this size)"
  echo
  for c in tsmigrate-verify tsmigrate-noverify tsmigrate-csv tsmigrate-stream; do
    uses "$c" || continue
    d=$(best_run "$c"); [ -n "$d" ] || { echo "- $c: failed"; continue; }
    w=$(cat "$d/wall"); heap=$(cat "$d/heap"); heapgc=$(cat "$d/heapgc" 2>/dev/null || echo n/a)
    goal=1.0; [ "$c" = tsmigrate-stream ] && goal=1.5
    if [ -n "$PGC_BEST" ]; then
      rr=$(ratio "$w")
      echo "- $c: pgcopydb/tsmigrate = $rr (goal >= $goal at 5M and 10M rows): $(is_true "$rr >= $goal" && echo PASS || echo FAIL)"
    fi
    if [ "$heap" != n/a ]; then
      echo "- $c: JVM peak heap $heap MiB, live after full GC $heapgc MiB (goal < 256 MiB at 50M rows, flat from 1M to 50M): $([ "$heap" -lt 256 ] && echo 'under 256' || echo 'NOT under 256')"
    fi
  done
  # heap across sizes: the other result files of this folder
  if uses tsmigrate-verify && ls "$BENCH_DIR"/results/*.md >/dev/null 2>&1; then
    echo "- earlier results in bench/results (rows: tsmigrate verify-on peak heap MiB[/live after full GC] (commit)): $(grep -ho 'tsbench-data rows=[0-9]* heap_verify=[0-9a-z/]* commit=[0-9a-z]*' "$BENCH_DIR"/results/*.md 2>/dev/null | sed 's/tsbench-data rows=\([0-9]*\) heap_verify=\([^ ]*\) commit=\(.*\)/\1: \2 (\3)/' | sort -n | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
  fi
  echo
  echo "## Every run, in the order they ran"
  echo
  echo "CPU seconds during the run: the contender's own processes (client side: the JVM with the pg_dump/pg_restore"
  echo "it starts, pgcopydb with its children, psql/pg_dump/pg_restore), both servers', and everything else on the"
  echo "machine (other work competing for the $(nproc) cores: a large number makes that run's time unreliable)."
  echo
  echo "| run | contender | wall s | own CPU s | servers CPU s | other CPU s | load avg at start |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | --- |"
  cat "$RUNLOG"
  echo
  echo "## Per-step detail of each contender's best run"
  for c in "${CONTENDERS[@]}"; do
    d=$(best_run "$c"); [ -n "$d" ] || continue
    echo
    echo "### $(label "$c")"
    echo
    echo '```'
    cat "$d/detail.txt" 2>/dev/null || true
    echo '```'
  done
  if [ ${#FAILED[@]} -gt 0 ]; then echo; echo "Failed runs: ${FAILED[*]}"; fi
  hv=n/a; if uses tsmigrate-verify; then d=$(best_run tsmigrate-verify); [ -z "$d" ] || hv=$(cat "$d/heap")/$(cat "$d/heapgc" 2>/dev/null || echo n/a); fi
  echo
  echo "<!-- tsbench-data rows=$ROWS heap_verify=$hv commit=$(commit_of_jar | cut -c1-12 | tr -d ' ') -->"
} >"$REPORT"

mkdir -p "$BENCH_DIR/results"
OUT="$BENCH_DIR/results/$(date +%Y-%m-%d-%H%M)-$ROWS.md"
cp "$REPORT" "$OUT"
echo
cat "$REPORT"
echo
log "written to ${OUT#"$PROJECT_DIR"/}"
[ ${#FAILED[@]} -eq 0 ] || exit 1
