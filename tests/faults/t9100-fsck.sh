#!/bin/bash
# t9100-fsck.sh: `st-admin fsck` against a store it must find whole, then
# against each kind of damage, one at a time: a shard with a flipped byte,
# a truncated shard, a missing shard, a model that does not match its job,
# a missing model, a shard of a set in none of its pilots, a missing log, a
# log file too small to be one. Each is named on stdout and makes the exit
# status 1; a wrapped log (file smaller than log_size) and the logs of later
# attempts (<uuid>.<n>.log) are the job's own; a shard file without a row,
# a log file of no job or of an attempt its job never had are only notes,
# and st-admin gc removes them (all the attempts' logs of a job that is
# gone); repaired, fsck is clean again.
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/checks.sh"
. "$top_srcdir/tests/faults/lib.sh"

flt_stack t9100-fsck
flt_set checked 2 3
SHAS=$(flt_sql "SELECT sha256 FROM shards ORDER BY id")
set -- $SHAS
A=$1 B=$2 C=$3
path() { echo "$T/store/shards/${1:0:2}/${1:2:2}/$1.zip"; }

# A completed job with a model, made with SQL (the jobs contract) and a
# model file written where the dispatcher writes it.
JOB=$(cat /proc/sys/kernel/random/uuid)
BATCH=$(cat /proc/sys/kernel/random/uuid)
mkdir -p "$T/store/models/${JOB:0:2}"
head -c 5000 /dev/urandom >"$T/store/models/${JOB:0:2}/$JOB.zip"
MSHA=$(sha256sum "$T/store/models/${JOB:0:2}/$JOB.zip" | cut -d' ' -f1)
flt_sql "INSERT INTO batches (uuid, account_id, mode, cpu, gpu, ram_gb)
    SELECT '$BATCH', id, 'production', 1, 0, 4 FROM accounts WHERE name = 'load';
  INSERT INTO jobs (uuid, batch_id, account_id, idx, mode, image, image_tag, command,
    cpu, gpu, ram_gb, status, model_sha256, model_size)
    SELECT '$JOB', b.id, b.account_id, 0, 'production', 'x', '1', 'true', 1, 0, 4,
    'COMPLETED', '$MSHA', 5000 FROM batches b WHERE b.uuid = '$BATCH'"

# Its logs (joblog.h), written here: attempt 1 plain (3000 bytes, a few
# bytes past log_size that a crash left), attempt 2 (the current one)
# wrapped: 9000 bytes under a cap of 1000, so its file is 1000 bytes.
LOGDIR=$T/store/logs/${JOB:0:2}
mkdir -p "$LOGDIR"
head -c 3010 /dev/urandom >"$LOGDIR/$JOB.log"
head -c 1000 /dev/urandom >"$LOGDIR/$JOB.2.log"
flt_sql "UPDATE jobs SET attempt = 2, log_size = 9000 WHERE uuid = '$JOB';
  INSERT INTO job_attempts (job_id, attempt, failure, log_size)
    SELECT id, 1, 'host_failure', 3000 FROM jobs WHERE uuid = '$JOB'"

fsck() {
	"$ST_ADMIN" fsck "$@" >"$T/fsck.out" 2>&1
}

fsck || { cat "$T/fsck.out" >&2; st_fail "fsck of a whole store"; }
grep -q '^fsck: 3 shards, 1 models, 2 logs, .* 0 problems, 0 notes$' "$T/fsck.out" ||
    st_fail "fsck summary: $(tail -1 "$T/fsck.out")"
st_ok "a whole store: $(tail -1 "$T/fsck.out")"

# expect_problem WHAT PATTERN: fsck exits 1 and prints PATTERN.
expect_problem() {
	local rc=0
	fsck "${FSCK_ARGS[@]}" || rc=$?
	st_expect_eq "$rc" 1 "fsck exit status with $1"
	grep -Eq "$2" "$T/fsck.out" || { cat "$T/fsck.out" >&2; st_fail "fsck does not report $1"; }
	st_ok "$1: $(grep -E "$2" "$T/fsck.out" | head -1 | cut -c1-110)"
}
FSCK_ARGS=()

cp "$(path "$A")" "$T/a.orig"
python3 - "$(path "$A")" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01
open(p, "wb").write(b)
PY
expect_problem "a flipped byte" "^problem: shard $A: content SHA-256 is [0-9a-f]{64}$"
FSCK_ARGS=(--sizes-only)
fsck --sizes-only || st_fail "--sizes-only does not hash, so it sees no flipped byte"
FSCK_ARGS=()
cp "$T/a.orig" "$(path "$A")"

cp "$(path "$B")" "$T/b.orig"
truncate -s 100 "$(path "$B")"
expect_problem "a truncated shard" "^problem: shard $B: size 100, the database says [0-9]+$"
cp "$T/b.orig" "$(path "$B")"

mv "$(path "$C")" "$T/c.orig"
expect_problem "a missing shard" "^problem: shard $C: file missing"
mv "$T/c.orig" "$(path "$C")"

M="$T/store/models/${JOB:0:2}/$JOB.zip"
cp "$M" "$T/m.orig"
head -c 5000 /dev/urandom >"$M"
expect_problem "a model that is not its job's" "^problem: model of job $JOB: content SHA-256"
rm "$M"
expect_problem "a missing model" "^problem: model of job $JOB: file missing"
cp "$T/m.orig" "$M"

flt_sql "DELETE m FROM dataset_shards m JOIN datasets p ON p.id = m.dataset_id
    JOIN shards s ON s.id = m.shard_id WHERE p.parent_id IS NOT NULL AND s.sha256 = '$A'"
expect_problem "a shard in none of its set's pilots" "^problem: set [0-9a-f-]{36}: shard $A is in 0 of its pilots"
flt_sql "INSERT INTO dataset_shards (dataset_id, shard_id)
    SELECT p.id, s.id FROM datasets p JOIN datasets d ON d.id = p.parent_id
    JOIN shards s ON s.sha256 = '$A' WHERE d.name = 'checked' AND p.pilot_index = 0"

# A shard file without a row: a note only.
O=$(printf %s "$A" | tr '0-9a-f' '1-9a-f0')
mkdir -p "$(dirname "$(path "$O")")"
cp "$(path "$A")" "$(path "$O")"
fsck || { cat "$T/fsck.out" >&2; st_fail "an orphan file is only a note"; }
grep -q "^note: shard file $O has no row" "$T/fsck.out" || st_fail "fsck does not note the orphan file"
grep -q ' 0 problems, 1 notes$' "$T/fsck.out" || st_fail "fsck summary: $(tail -1 "$T/fsck.out")"
st_ok "a shard file without a row is a note, exit 0"
rm "$(path "$O")"

# Logs: a missing one, and a file too small to be a wrapped log.
mv "$LOGDIR/$JOB.2.log" "$T/log2.orig"
expect_problem "a missing log" "^problem: log of job $JOB: attempt 2: file missing: .*/$JOB\.2\.log$"
mv "$LOGDIR/$JOB.log" "$T/log1.orig"
printf x >"$LOGDIR/$JOB.log"
mv "$T/log2.orig" "$LOGDIR/$JOB.2.log"
expect_problem "a log file too small" "^problem: log of job $JOB: attempt 1: a file of 1 bytes cannot hold a log of 3000$"
mv "$T/log1.orig" "$LOGDIR/$JOB.log"

# Stray logs: of no job (two attempts), of an attempt the job never had;
# and a file that is no log's name, which nothing touches.
GONE=$(cat /proc/sys/kernel/random/uuid)
mkdir -p "$T/store/logs/${GONE:0:2}"
printf 'a\n' >"$T/store/logs/${GONE:0:2}/$GONE.log"
printf 'b\n' >"$T/store/logs/${GONE:0:2}/$GONE.2.log"
printf 'c\n' >"$LOGDIR/$JOB.3.log"
printf 'd\n' >"$LOGDIR/$JOB.notes.txt"
fsck || { cat "$T/fsck.out" >&2; st_fail "stray logs are only notes"; }
grep -q "^note: log file of job $GONE attempt 1 has no job" "$T/fsck.out" || st_fail "no note of a log of no job: $(cat "$T/fsck.out")"
grep -q "^note: log file of job $GONE attempt 2 has no job" "$T/fsck.out" || st_fail "no note of attempt 2 of no job"
grep -q "^note: log file of job $JOB attempt 3: the job has no such attempt" "$T/fsck.out" || st_fail "no note of attempt 3"
grep -q ' 0 problems, 3 notes$' "$T/fsck.out" || st_fail "fsck summary: $(tail -1 "$T/fsck.out")"
st_ok "stray logs (of no job, of an attempt the job never had) are notes, exit 0; the job's own attempts are not"
"$ST_ADMIN" gc --dry-run >"$T/gc.out" 2>&1 || { cat "$T/gc.out" >&2; st_fail "gc --dry-run"; }
grep -q "^would remove the 2 log files of job $GONE (no such job)$" "$T/gc.out" || st_fail "gc --dry-run: $(cat "$T/gc.out")"
grep -q ", 3 stray log files, " "$T/gc.out" || st_fail "gc --dry-run summary: $(tail -1 "$T/gc.out")"
[ -f "$LOGDIR/$JOB.3.log" ] || st_fail "gc --dry-run removed a file"
"$ST_ADMIN" gc >"$T/gc.out" 2>&1 || { cat "$T/gc.out" >&2; st_fail "gc"; }
grep -q "^removed the 2 log files of job $GONE (no such job)$" "$T/gc.out" || st_fail "gc: $(cat "$T/gc.out")"
grep -q "^removed the log of job $JOB attempt 3 (no such attempt)$" "$T/gc.out" || st_fail "gc: $(cat "$T/gc.out")"
for f in "$T/store/logs/${GONE:0:2}/$GONE.log" "$T/store/logs/${GONE:0:2}/$GONE.2.log" "$LOGDIR/$JOB.3.log"; do
	[ ! -e "$f" ] || st_fail "gc kept the stray log $f"
done
for f in "$LOGDIR/$JOB.log" "$LOGDIR/$JOB.2.log" "$LOGDIR/$JOB.notes.txt"; do
	[ -f "$f" ] || st_fail "gc removed $f"
done
rm "$LOGDIR/$JOB.notes.txt"
st_ok "st-admin gc removes every log of a job that is gone and the log of an attempt past the job's; the job's own logs stay"

fsck || { cat "$T/fsck.out" >&2; st_fail "fsck after the repairs"; }
st_ok "repaired: $(tail -1 "$T/fsck.out")"
rc=0
"$ST_ADMIN" fsck --bogus >/dev/null 2>&1 || rc=$?
st_expect_eq "$rc" 2 "fsck with a bad option"
st_ok "a bad option is a usage error (2)"
