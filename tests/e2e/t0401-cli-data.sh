#!/bin/bash
# singularity-cli dataset add|summary|list (issue 6) through lighttpd over
# HTTPS with the real MariaDB: a ~40 MB folder of a few hundred files packed
# into zip shards of at most 10 MiB (the right count, every file exactly
# once, the same bytes for the same files), a second run that sends only the
# shards of the two files changed (checked in the server's log and the
# database), new and removed files, an upload killed half-way and resumed,
# and the refusals (a file over 10 MiB, no folder, no set).
. "$top_srcdir/tests/lib/harness.sh"
. "$top_srcdir/tests/lib/servers.sh"
. "$top_srcdir/tests/lib/sign.sh"
. "$top_srcdir/tests/lib/cli.sh"

st_init t0401-cli-data
command -v python3 >/dev/null || st_skip "python3 not installed"
st_mariadb_start
st_db_setup
st_account carol
st_lighttpd_start
st_cli_config

sql() { st_mysql -N -B singularity -e "$1"; }

# added UUID: how many shards the server's log says joined set UUID.
added() { grep -c "added to data set $1" "$T/singularity.log" || :; }

# check_shards IMPRINT DIR: every shard of the imprint is in the blob store,
# at most 10 MiB, a zip whose members are exactly the imprint's files, with
# the folder's bytes, the fixed date and in name order; every file of DIR
# (but the imprint) is in exactly one shard.
check_shards() {
	python3 - "$1" "$2" "$T/store" <<'EOF' || st_fail "shards do not match $2"
import hashlib, json, os, sys, zipfile
imp, d, store = sys.argv[1], sys.argv[2], sys.argv[3]
j = json.load(open(imp))
seen = {}
for s in j["shards"]:
    assert s["uploaded"], s["id"]
    p = os.path.join(store, "shards", s["id"][:2], s["id"][2:4], s["id"] + ".zip")
    raw = open(p, "rb").read()
    assert len(raw) <= 10 * 1024 * 1024, (p, len(raw))
    assert hashlib.sha256(raw).hexdigest() == s["id"]
    z = zipfile.ZipFile(p)
    names = [i.filename for i in z.infolist()]
    assert names == sorted(names), "members not in name order"
    assert sorted(names) == sorted(f["name"] for f in s["files"]), names
    for i in z.infolist():
        assert i.date_time == (1980, 1, 1, 0, 0, 0), i.date_time
        assert z.read(i) == open(os.path.join(d, i.filename), "rb").read(), i.filename
        assert i.filename not in seen, "twice: " + i.filename
        seen[i.filename] = s["id"]
files = set()
for root, _, fs in os.walk(d):
    for f in fs:
        rel = os.path.relpath(os.path.join(root, f), d)
        if not rel.startswith(".singularity-imprint") and \
                not os.path.islink(os.path.join(root, f)):
            files.add(rel)
assert files == set(seen), (len(files), len(seen))
EOF
}

# nshards IMPRINT: the number of shards the imprint holds.
nshards() { st_pyjson "$1" 'len(d["shards"])'; }

# --- the first run --------------------------------------------------------------

D=$T/folder
mkfolder "$D" 7 300 40
ln -s file0001.txt "$D/part01/link.txt"	# not a regular file: skipped
cp -a "$D" "$T/folder-copy"
cli_run 0 dataset add demo "$D" --pilot-count 4
grep -q '^created data set demo from' "$T/out" || st_fail "no summary: $(cat "$T/out")"
SET=$(cli --json dataset summary demo | python3 -c 'import json,sys; print(json.load(sys.stdin)["dataset_uuid"])')
IMP=$D/.singularity-imprint.json
N=$(nshards "$IMP")
TOTAL=$(du -sb --exclude=.singularity-imprint.json "$D" | cut -f1)
# The plan counts the files' own bytes (deflate's worst case) against 10 MiB:
# at least total/10 MiB shards, and next-fit wastes less than a file each.
python3 -c "
import math, sys
n, total = $N, $TOTAL
lo = math.ceil(total / (10 * 1048576))
assert lo <= n <= lo + 1, (n, lo)" || st_fail "$N shards for $TOTAL bytes"
st_expect_eq "$(sql "SELECT COUNT(*) FROM dataset_shards ds JOIN datasets d ON d.id = ds.dataset_id WHERE d.uuid = '$SET'")" "$N" "shards in the set"
st_expect_eq "$(added "$SET")" "$N" "shards the server's log saw added"
grep -q "^shards      $N\$" "$T/out" || st_fail "summary shows no '$N' shards: $(cat "$T/out")"
grep -q "$N shards, $N uploaded" "$T/out" || st_fail "summary: $(head -1 "$T/out")"
check_shards "$IMP" "$D"
[ "$(st_pyjson "$IMP" 'sorted(f["name"] for s in d["shards"] for f in s["files"] if "link" in f["name"])')" = "[]" ] ||
    st_fail "the symbolic link was packed"
st_ok "dataset add: $N shards for $TOTAL bytes in 300 files, all <= 10 MiB, every file once"

# The same files give the same shards (same bytes, same ids), whatever set.
cli_run 0 dataset add demo-copy "$T/folder-copy" --pilot-count 0
st_expect_eq "$(st_pyjson "$T/folder-copy/.singularity-imprint.json" 'sorted(s["id"] for s in d["shards"])')" \
    "$(st_pyjson "$IMP" 'sorted(s["id"] for s in d["shards"])')" "shard ids of the same files"
st_ok "packing is deterministic"

# --- nothing changed: nothing sent -------------------------------------------------

cli_run 0 dataset add demo "$D"
grep -q "updated data set demo from .*: $N shards, 0 uploaded .* $N kept, 0 deleted" "$T/out" ||
    st_fail "second run: $(head -1 "$T/out")"
st_expect_eq "$(added "$SET")" "$N" "nothing re-sent"
# touch alone (same bytes) re-sends nothing either
touch "$D/part03/file0003.txt"
cli_run 0 dataset add demo "$D"
grep -q ": $N shards, 0 uploaded" "$T/out" || st_fail "after touch: $(head -1 "$T/out")"
st_ok "an unchanged folder sends nothing (also after touch)"

# --- two files changed: only their two shards --------------------------------------

read -r F1 F2 OLD1 OLD2 <<<"$(st_pyjson "$IMP" '" ".join([d["shards"][0]["files"][0]["name"], d["shards"][1]["files"][0]["name"], d["shards"][0]["id"], d["shards"][1]["id"]])')"
printf 'changed one\n' >>"$D/$F1"
printf 'changed two\n' >>"$D/$F2"
cli_run 0 dataset add demo "$D"
grep -q "updated data set demo from .*: $N shards, 2 uploaded .* $((N - 2)) kept, 2 deleted" "$T/out" ||
    st_fail "after changing two files: $(head -1 "$T/out")"
st_expect_eq "$(added "$SET")" "$((N + 2))" "shards the server's log saw added"
st_expect_eq "$(grep -c "removed from data set $SET" "$T/singularity.log")" 2 "shards removed in the log"
st_expect_eq "$(sql "SELECT COUNT(*) FROM dataset_shards ds JOIN datasets d ON d.id = ds.dataset_id JOIN shards s ON s.id = ds.shard_id WHERE d.uuid = '$SET' AND s.sha256 IN ('$OLD1', '$OLD2')")" 0 \
    "old shards left the set"
st_expect_eq "$(sql "SELECT COUNT(*) FROM dataset_shards ds JOIN datasets d ON d.id = ds.dataset_id WHERE d.uuid = '$SET'")" "$N" "shards in the set"
check_shards "$IMP" "$D"
st_ok "two files changed: their two shards re-sent, the old two deleted"

# --- a new file, a removed file ---------------------------------------------------------

read -r F3 <<<"$(st_pyjson "$IMP" 'd["shards"][2]["files"][0]["name"]')"
rm "$D/$F3"
printf 'a new file\n' >"$D/new.txt"
cli_run 0 dataset add demo "$D"
grep -q ": $((N + 1)) shards, 2 uploaded .* $((N - 1)) kept, 1 deleted" "$T/out" ||
    st_fail "after a new and a removed file: $(head -1 "$T/out")"
check_shards "$IMP" "$D"
N=$((N + 1))
st_ok "a removed file re-packs its shard, a new file makes a new one"

# --- an upload killed half-way resumes --------------------------------------------------

# Three shards of two 3.5 MB files each, sent one at a time at 20 MB/s:
# the kill comes after the first confirmation, long before the last.
D3=$T/folder3
mkdir -p "$D3"
for i in 1 2 3 4 5 6; do
	head -c 3500000 /dev/urandom >"$D3/blob$i.bin"
done
"$ST_CLI" dataset add resume "$D3" --pilot-count 2 --parallel 1 \
    --limit-rate 20000000 >"$T/kill.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
	if [ -f "$D3/.singularity-imprint.json" ] &&
	    grep -q '"uploaded":[[:space:]]*true' "$D3/.singularity-imprint.json" 2>/dev/null; then
		break
	fi
	sleep 0.05
done
kill -KILL "$pid" 2>/dev/null || :
wait "$pid" 2>/dev/null || :
N3=$(nshards "$D3/.singularity-imprint.json")
DONE3=$(st_pyjson "$D3/.singularity-imprint.json" 'sum(1 for s in d["shards"] if s["uploaded"])')
[ "$N3" = 3 ] && [ "$DONE3" -ge 1 ] && [ "$DONE3" -lt 3 ] ||
    st_fail "the kill came at the wrong time: $DONE3 of $N3 confirmed"
cli_run 0 dataset add resume "$D3"
grep -q ": $N3 shards, $((N3 - DONE3)) uploaded" "$T/out" ||
    st_fail "resume after $DONE3 of $N3: $(head -1 "$T/out")"
st_expect_eq "$(cli --json dataset summary resume | python3 -c 'import json,sys; print(json.load(sys.stdin)["shard_count"])')" "$N3" "shards of the resumed set"
check_shards "$D3/.singularity-imprint.json" "$D3"
st_ok "killed after $DONE3 of $N3 shards: the next run sends the other $((N3 - DONE3))"

# --- an imprint elsewhere ---------------------------------------------------------------

D4=$T/folder4
mkdir -p "$D4/a"
printf '1\n2\n3\n' >"$D4/a/n.txt"
cli_run 0 dataset add small "$D4" --pilot-count 1 --imprint "$T/small.imprint"
[ -f "$T/small.imprint" ] && [ ! -e "$D4/.singularity-imprint.json" ] || st_fail "--imprint not used"
cli_run 0 dataset add small "$D4" --imprint "$T/small.imprint"
grep -q ': 1 shards, 0 uploaded' "$T/out" || st_fail "--imprint second run: $(head -1 "$T/out")"
st_ok "--imprint PATH"

# --- refusals -----------------------------------------------------------------------------

D5=$T/folder5
mkdir -p "$D5"
head -c $((10 * 1048576)) /dev/urandom >"$D5/big.bin"
printf 'x\n' >"$D5/small.txt"
cli_run 1 dataset add big "$D5" --pilot-count 1
grep -q 'big.bin is 10485760 bytes' "$T/err" || st_fail "big file: $(cat "$T/err")"
cli_run 4 dataset summary big
st_ok "a file over the shard limit is refused before anything is sent"
cli_run 2 dataset add nosuch "$D4"
grep -q 'does not exist yet' "$T/err" || st_fail "no set, no --pilot-count: $(cat "$T/err")"
cli_run 2 dataset add demo "$T/nowhere"
cli_run 2 dataset add demo
cli_run 2 dataset add demo "$D" --pilot-count 300
cli_run 1 dataset add 'bad name!' "$D4" --pilot-count 1
st_ok "usage errors exit 2, a refused name exits 1"

# --- list and summary ---------------------------------------------------------------------

cli_run 0 dataset list
for n in demo demo-copy resume small; do
	grep -q "^$n  *[0-9a-f-]\{36\}  " "$T/out" || st_fail "dataset list lacks $n: $(cat "$T/out")"
done
head -1 "$T/out" | grep -q '^NAME  *UUID  *SHARDS  *SIZE  *PILOTS  *CREATED$' || st_fail "list header: $(head -1 "$T/out")"
cli_run 0 --json dataset list
ST_GOT=$(st_req GET /data)
python3 -c "
import json, sys
a = json.load(open('$T/out')); b = json.load(open('$T/resp.body'))
sys.exit(0 if a == b else 1)" || st_fail "--json dataset list is not the server's answer"
cli_run 0 dataset summary demo
grep -q "^shards      $N\$" "$T/out" || st_fail "summary: $(cat "$T/out")"
grep -q '^PILOT  *SHARDS  *SIZE$' "$T/out" || st_fail "summary's pilot table: $(cat "$T/out")"
[ "$(grep -c '^[0-9a-f-]\{36\}  ' "$T/out")" = 4 ] || st_fail "4 pilots: $(cat "$T/out")"
cli_run 4 dataset summary nosuch
grep -q 'no such data set (404 not_found)' "$T/err" || st_fail "404 message: $(cat "$T/err")"
st_ok "dataset list and summary, --json as the server said"
