# cli.sh: helpers of the singularity-cli tests (t04NN), sourced after
# harness.sh and servers.sh.
#
#   st_cli_config [DIR]   write DIR/config.json (default $T/cli) for the
#                         running server and the account of API_KEY and
#                         API_SECRET; export SINGULARITY_CONFIG_PATH=DIR and
#                         HOME=$T/home (never the caller's ~/.singularity)
#   cli ARGS...           run singularity-cli
#   cli_run WANT ARGS...  run it with stdout in $T/out, stderr in $T/err;
#                         fail unless it exits WANT
#   st_pyjson FILE EXPR   a Python expression over the JSON in FILE (d)
#   mkfolder DIR SEED FILES MB   a data folder (see below)

# ST_CLI may name another executable running it (a valgrind wrapper).
ST_CLI=${ST_CLI:-$top_builddir/src/cli/singularity-cli}
[ -x "$ST_CLI" ] || st_fail "$ST_CLI is not built"

st_cli_config() {
	local dir=${1:-$T/cli}
	mkdir -p "$dir" "$T/home"
	(umask 077 && cat >"$dir/config.json" <<EOF
{
  "api_url": "https://127.0.0.1:$HTTPS_PORT",
  "api_key": "$API_KEY",
  "secret": "$API_SECRET",
  "ca_file": "$CA_FILE"
}
EOF
	)
	SINGULARITY_CONFIG_PATH=$dir
	HOME=$T/home
	export SINGULARITY_CONFIG_PATH HOME
}

cli() {
	"$ST_CLI" "$@"
}

cli_run() {
	local want=$1 rc=0
	shift
	"$ST_CLI" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "--- singularity-cli $*" >&2
		echo "--- stdout" >&2; head -c 3000 "$T/out" >&2
		echo "--- stderr" >&2; head -c 3000 "$T/err" >&2
		st_fail "singularity-cli $*: exit $rc, want $want"
	fi
}

st_pyjson() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list, bool)) or v is None else v)' \
	    "$1" "$2" || st_fail "st_pyjson $2 on $(head -c 300 "$1")"
}

# mkfolder DIR SEED FILES MB: FILES files of about MB MB in all, in a few
# sub-folders; text lines that are never numbers (so the training script
# of the journey test ignores them), plus ten files of numbers.
mkfolder() {
	python3 - "$@" <<'EOF'
import os, random, sys
d, seed, n, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
rnd = random.Random(seed)
avg = int(mb * 1e6 / n)
alpha = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"
table = bytes(alpha[b % len(alpha)] for b in range(256))
for i in range(n):
    sub = os.path.join(d, "part%02d" % (i % 7), "deep" if i % 5 == 0 else "")
    os.makedirs(sub, exist_ok=True)
    p = os.path.join(sub, "file%04d.txt" % i)
    if i % (n // 10) == 0:
        data = "".join("%d\n" % rnd.randint(1, 100000) for _ in range(500)).encode()
    else:
        size = rnd.randint(avg // 2, avg * 3 // 2)
        raw = os.urandom(size)
        data = raw.translate(table)
        data = b"\n".join(data[k:k + 120] for k in range(0, len(data), 120)) + b"\n"
    open(p, "wb").write(data)
EOF
}

