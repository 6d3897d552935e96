#!/bin/bash
# t9100-fsck.sh: `st-admin fsck` against a store it must find whole, then
# against each kind of damage, one at a time: a shard with a flipped byte,
# a truncated shard, a missing shard, a model that does not match its job,
# a missing model, a shard of a set in none of its pilots. Each is named on
# stdout and makes the exit status 1; a shard file without a row is only a
# note (st-admin gc removes it); repaired, fsck is clean again.
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

fsck() {
	"$ST_ADMIN" fsck "$@" >"$T/fsck.out" 2>&1
}

fsck || { cat "$T/fsck.out" >&2; st_fail "fsck of a whole store"; }
grep -q '^fsck: 3 shards, 1 models, .* 0 problems, 0 notes$' "$T/fsck.out" ||
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

fsck || { cat "$T/fsck.out" >&2; st_fail "fsck after the repairs"; }
st_ok "repaired: $(tail -1 "$T/fsck.out")"
rc=0
"$ST_ADMIN" fsck --bogus >/dev/null 2>&1 || rc=$?
st_expect_eq "$rc" 2 "fsck with a bad option"
st_ok "a bad option is a usage error (2)"
