#!/bin/sh
# Builds the local MPI image socker/mpich:4 (`make mpi-image`), with no
# registry: the test programs are compiled with the host's mpicc, and a root
# filesystem is gathered from this host's files —
#
#   /usr/bin: hydra_pmi_proxy and mpiexec.hydra (Debian's MPICH 4), the test
#             programs mpi-hello, mpi-pingpong, mpi-perf (IMB-style latency,
#             bandwidth and Allreduce over message sizes, for the benchmark),
#             mpi-fail (a rank that exits, aborts or crashes) and mpi-ring
#             (communication, then MPI_Finalize), mpi-hello.py (a Python
#             MPI hello through ctypes, as mpi4py's helloworld) with the
#             host's python3 and the part of its standard library that
#             ctypes needs, and busybox
#             (busybox-static) with its applets, so the image has a shell;
#   /usr/lib: every library those need, as ldd resolves them (the dynamic
#             loader included), plus what MPICH loads at run time: UCX's
#             transport modules (dlopened from .../ucx/; see below);
#   /usr/lib: also ucx-finalize-fix.so (ucx-finalize-fix.c), preloaded by
#             /etc/ld.so.preload into every process: Debian's MPICH 4.0.2
#             hangs in MPI_Finalize when ranks talk over TCP (ranks in two
#             containers or on two hosts), and this replaces the endpoint
#             close that hangs with one that cannot;
#   /etc:     passwd/group with root only (the container runs as the caller's
#             uid, which needs no entry: MPICH, UCX and hydra run without
#             one), nsswitch.conf (host names from files first: a name in
#             /etc/hosts never becomes a DNS query), ld.so.conf + cache,
#             ucx/ucx.conf (see below);
#   /tmp:     1777 — and /proc, /sys, /dev, /dev/shm mount points;
#
# laid out merged-/usr like Debian 12 (/bin, /lib, /lib64 are links into /usr),
# and `docker import`s it with PATH set. Hydra passes mpiexec's environment,
# PATH included, to the ranks; /usr/bin is on every usual PATH, so the
# programs are found whichever PATH reaches them.
#
# UCX modules: MPICH 4.0.2 on Debian is ch4:ucx; UCX dlopens every
# libuct_*.so.0 in <libdir>/ucx. Only the cma module (cross-memory attach,
# no further libraries) is copied: the ib and rdmacm modules need rdma-core
# and its drivers, and this image is for hosts without RDMA hardware. Set
# UCX_MODULES=all to copy them too (with the libraries ldd finds for them).
#
# UCX network devices: /etc/ucx/ucx.conf in the image sets UCX_NET_DEVICES
# to $MPI_IMAGE_NET_DEVICES (default "lo"). Ranks in different containers on
# one host (mrun --master local, the tests) cannot share memory, so UCX picks
# TCP, and by default on every interface: here that meant connections to the
# machine's own eth0 address, which these machines' network rule forbids. On
# a real cluster run with UCX_NET_DEVICES=all (or a device list) in mpiexec's
# environment, which hydra passes to the ranks and which overrides the file,
# or build with MPI_IMAGE_NET_DEVICES=all.
#
# Usage: build.sh [IMAGE]  (default socker/mpich:4). Idempotent: does nothing
# if the image exists and was built from this recipe, unless FORCE=1. Prints the image's size. As root.
set -eu
IMAGE=${1:-socker/mpich:4}
FORCE=${FORCE:-0}
UCX_MODULES=${UCX_MODULES:-cma}
NET_DEVICES=${MPI_IMAGE_NET_DEVICES:-lo}
here=$(cd "$(dirname "$0")" && pwd)
PROGRAMS="mpi-hello mpi-pingpong mpi-perf mpi-fail mpi-ring"

say() { echo "mpi-image: $*"; }
die() {
	echo "mpi-image: $*" >&2
	exit 1
}

size() { docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB", $1 / 1e6}'; }

# The recipe's hash, a label of the image: a changed recipe rebuilds it.
recipe=$(cat "$0" "$here"/*.c "$here"/*.py | sha256sum | cut -c1-16)
old=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
if [ -n "$old" ] && [ "$FORCE" != 1 ] &&
	[ "$(docker image inspect --format '{{index .Config.Labels "socker.recipe"}}' "$IMAGE")" = "$recipe" ]; then
	say "image $IMAGE already present and built from this recipe ($(size)); FORCE=1 rebuilds it"
	exit 0
fi

for tool in mpicc hydra_pmi_proxy mpiexec.hydra ldd ldconfig docker; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install mpich libmpich-dev; scripts/setup.sh installs them)"
done
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is not static (apt-get install busybox-static)"
fi
proxy=$(readlink -f "$(command -v hydra_pmi_proxy)")
mpiexec=$(readlink -f "$(command -v mpiexec.hydra)")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/usr/bin" "$root/usr/lib" "$root/usr/lib64" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev/shm"
chmod 1777 "$root/tmp"
for d in bin lib lib64; do ln -s "usr/$d" "$root/$d"; done
ln -s usr/bin "$root/sbin"

# The programs, compiled as a user would: mpicc links the host's libmpich.
for prog in $PROGRAMS; do
	mpicc -O2 -Wall -Werror -o "$root/usr/bin/$prog" "$here/$prog.c"
done
cp "$proxy" "$root/usr/bin/hydra_pmi_proxy"
cp "$mpiexec" "$root/usr/bin/mpiexec.hydra"
ln -s mpiexec.hydra "$root/usr/bin/mpiexec"
cp "$BUSYBOX" "$root/usr/bin/busybox"

# Python (Debian's): the interpreter, and the modules `python3 -S -c 'import ctypes'`
# loads (with every encoding), for mpi-hello.py.
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 missing (apt-get install python3; scripts/setup.sh installs it)"
python=$(readlink -f /usr/bin/python3)
pyver=$(basename "$python")
pylib=/usr/lib/$pyver
[ -f "$pylib/ctypes/__init__.py" ] || die "$pylib has no ctypes (apt-get install python3)"
cp "$python" "$root/usr/bin/$pyver"
ln -s "$pyver" "$root/usr/bin/python3"
pymods=$("$python" -S -c 'import sys, ctypes; print("\n".join(sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})))')
for f in $pymods; do
	mkdir -p "$root$(dirname "$f")"
	cp "$f" "$root$f"
done
cp -r "$pylib/encodings" "$root$pylib/"
rm -rf "$root$pylib/encodings/__pycache__"
install -m 0755 "$here/mpi-hello.py" "$root/usr/bin/mpi-hello.py"
for applet in $("$BUSYBOX" --list); do
	[ -e "$root/usr/bin/$applet" ] || ln -s busybox "$root/usr/bin/$applet"
done

# UCX's run-time modules: next to libuct, in ucx/.
uct=$(ldd "$root/usr/bin/mpi-hello" | awk '$1 ~ /^libuct\.so/ {print $3}')
[ -n "$uct" ] || die "mpi-hello does not link libuct: is MPICH built with UCX (mpichversion)?"
ucxdir=$(dirname "$(readlink -f "$uct")")/ucx
modules=""
if [ -d "$ucxdir" ]; then
	for m in "$ucxdir"/libuct_*.so.0; do
		[ -e "$m" ] || continue
		name=$(basename "$m" .so.0)
		name=${name#libuct_}
		[ "$UCX_MODULES" = all ] || [ "$name" = "$UCX_MODULES" ] || continue
		modules="$modules $m"
	done
fi

# The MPI_Finalize fix, next to libmpich, preloaded into every process.
mpichlib=$(ldd "$root/usr/bin/mpi-hello" | awk '$1 ~ /^libmpich\.so/ {print $3}')
[ -n "$mpichlib" ] || die "mpi-hello does not link libmpich"
fixlib=$(dirname "$(readlink -f "$mpichlib")")/ucx-finalize-fix.so
mkdir -p "$work/fix"
gcc -shared -fPIC -O2 -Wall -Werror -o "$work/fix/ucx-finalize-fix.so" "$here/ucx-finalize-fix.c"

# dest maps a host path to its place in the merged-/usr root filesystem.
dest() {
	case $1 in
	/usr/*) echo "$root$1" ;;
	*) echo "$root/usr$1" ;;
	esac
}

# Every shared object the binaries and modules need, transitively (ldd
# resolves the whole tree), copied under the name they are asked for.
objects="$(for prog in $PROGRAMS; do printf '%s ' "$root/usr/bin/$prog"; done)$root/usr/bin/hydra_pmi_proxy $root/usr/bin/mpiexec.hydra $root/usr/bin/$pyver $(ls "$root$pylib"/lib-dynload/*.so) $modules"
for obj in $objects; do
	ldd "$obj" | awk '
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }
		$2 == "=>" && $3 == "not" { print "MISSING " $1 }'
done | sort -u >"$work/libs"
if grep '^MISSING' "$work/libs"; then
	die "libraries not found on this host (above)"
fi
while read -r lib; do
	to=$(dest "$lib")
	mkdir -p "$(dirname "$to")"
	[ -e "$to" ] || cp -L "$lib" "$to"
done <"$work/libs"
for m in $modules; do
	to=$(dest "$(readlink -f "$ucxdir")/$(basename "$m")")
	mkdir -p "$(dirname "$to")"
	cp -L "$m" "$to"
done
cp "$work/fix/ucx-finalize-fix.so" "$(dest "$fixlib")"
echo "$fixlib" >"$root/etc/ld.so.preload"

# /etc: root only in passwd/group (socker runs the container as the caller's
# uid and gids whatever these say).
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
printf '/usr/lib/x86_64-linux-gnu\n/usr/lib\n' >"$root/etc/ld.so.conf"
mkdir -p "$root/etc/ucx"
printf '# socker/mpich:4 (packaging/mpi-image/build.sh). The environment overrides this.\nUCX_NET_DEVICES=%s\n' "$NET_DEVICES" >"$root/etc/ucx/ucx.conf"
ldconfig -r "$root"
chmod -R go-w "$root"
chmod 1777 "$root/tmp"

tar -C "$root" --numeric-owner --owner=0 --group=0 -c . | docker import \
	--change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
	--change 'WORKDIR /tmp' \
	--change 'CMD ["/bin/sh"]' \
	--change "LABEL socker.recipe=$recipe" \
	--message "socker MPI test image: MPICH $(dpkg-query -W -f='${Version}' mpich 2>/dev/null || echo '?') from the host, $PROGRAMS" \
	- "$IMAGE" >/dev/null

# A trial run: the loader finds every library and MPI starts (a singleton:
# no process manager) as a uid the image's /etc/passwd does not know, with
# no network but loopback.
if ! out=$(docker run --rm --network none --user 65534:65534 "$IMAGE" sh -c 'mpi-hello && mpi-hello.py' 2>&1) ||
	[ "${out#rank 0 of 1 on }" = "$out" ] || [ "${out%Hello, World! I am process 0 of 1 on *.}" = "$out" ]; then
	docker image rm "$IMAGE" >/dev/null 2>&1 || true
	die "trial run of mpi-hello in $IMAGE failed, image removed: $out"
fi
# A rebuild leaves the previous image untagged: remove it unless in use.
new=$(docker image inspect --format '{{.Id}}' "$IMAGE")
if [ -n "$old" ] && [ "$old" != "$new" ]; then
	docker image rm "$old" >/dev/null 2>&1 || true
fi
say "built $IMAGE ($(size)): $(wc -l <"$work/libs") libraries, UCX modules:$(for m in $modules; do printf ' %s' "$(basename "$m")"; done), UCX_NET_DEVICES=$NET_DEVICES"
