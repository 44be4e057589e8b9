#!/usr/bin/env bash
# Two machines on one: two network namespaces joined by a veth pair (10.77.0.1 and 10.77.0.2), one rank in
# each, Open MPI's TCP transport between them (shared memory off). mpirun runs in the first namespace and starts
# the second rank's daemon through a launcher script standing in for ssh (Open MPI's rsh agent). The same
# training then runs as 2 ranks in one namespace, and the script checks that both end with the same weights.
# Needs root (ip netns) and Open MPI (apt-get install -y openmpi-bin); tears everything down on exit.
#
#   scripts/mpi_two_hosts.sh [path/to/vitkit]
#   BENCH=1 scripts/mpi_two_hosts.sh      # also: vitkit bench's all-reduce over the TCP link, small and vit_tiny
set -euo pipefail
cd "$(dirname "$0")/.."
vitkit=$(realpath "${1:-.build/release/vitkit}")
work=$(mktemp -d)
a=vkhost-a b=vkhost-b
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cleanup; work=$(mktemp -d)

ip netns add "$a"; ip netns add "$b"
ip link add vk-a type veth peer name vk-b
ip link set vk-a netns "$a"; ip link set vk-b netns "$b"
ip -n "$a" addr add 10.77.0.1/24 dev vk-a; ip -n "$b" addr add 10.77.0.2/24 dev vk-b
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set vk-a up; ip -n "$b" link set vk-b up
echo "network: $a (10.77.0.1) <-> $b (10.77.0.2) over a veth pair"
bytes() { ip netns exec "$a" cat /sys/class/net/vk-a/statistics/tx_bytes; }

# the "ssh" to 10.77.0.2: run the daemon's command line in that namespace
cat >"$work/launch" <<EOF
#!/bin/sh
host=\$1; shift
case "\$host" in 10.77.0.2) ns=$b ;; *) ns=$a ;; esac
exec ip netns exec "\$ns" sh -c "\$*"
EOF
chmod +x "$work/launch"
printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' >"$work/hosts"

train=(train --depth 1 --embed-dim 48 --synthetic-train 192 --synthetic-test 40 --epochs 1 --warmup-epochs 0 --threads 1
       --reprob 0.5 --seed 3 -b 32)
tcp=(--mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24)
echo "two hosts: mpirun --hostfile (10.77.0.1, 10.77.0.2) ${tcp[*]}"
before=$(bytes)
ip netns exec "$a" mpirun --allow-run-as-root --hostfile "$work/hosts" -np 2 --map-by node --bind-to none \
    --mca plm_rsh_agent "$work/launch" "${tcp[@]}" -x PATH \
    sh -c 'echo "rank $OMPI_COMM_WORLD_RANK on $(ip -4 -o addr show scope global | awk "{print \$4}")" >&2; exec "$0" "$@"' \
    "$vitkit" "${train[@]}" --output "$work/two-hosts"
echo "the veth pair carried $(( $(bytes) - before )) bytes from 10.77.0.1 to 10.77.0.2 (TCP: the daemons and the all-reduces)"
echo "one host: mpirun -np 2"
mpirun --allow-run-as-root --oversubscribe -np 2 --bind-to none "$vitkit" "${train[@]}" --output "$work/one-host"

if [ "${BENCH:-0}" = 1 ]; then
    for m in "small 64" "vit_tiny_patch2_32 32"; do
        set -- $m
        echo "over TCP between the namespaces: vitkit bench --config $1 -b $2 --threads 1"
        ip netns exec "$a" mpirun --allow-run-as-root --hostfile "$work/hosts" -np 2 --map-by node --bind-to none \
            --mca plm_rsh_agent "$work/launch" "${tcp[@]}" "$vitkit" bench --config "$1" -b "$2" --threads 1 --steps 4
    done
fi

python3 - "$work/two-hosts/last.safetensors" "$work/one-host/last.safetensors" <<'EOF'
import array, json, struct, sys
def read(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n]); body = data[8 + n:]
    out = {}
    for k, v in header.items():
        if k == "__metadata__": continue
        a, b = v["data_offsets"]; t = array.array("f"); t.frombytes(body[a:b]); out[k] = t
    return out
x, y = read(sys.argv[1]), read(sys.argv[2])
assert x.keys() == y.keys(), "different tensors"
worst = max(abs(p - q) for k in x for p, q in zip(x[k], y[k]))
print(f"weights: {len(x)} tensors, largest difference between the two-host and one-host runs {worst:g}")
sys.exit(0 if worst == 0 else 1)
EOF
