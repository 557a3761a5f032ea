#!/bin/sh
# Builds the tiny test image socker-test/tiny:1 from Debian's busybox-static,
# with `docker import` (no registry is needed or reachable). Idempotent.
set -eu
IMAGE=${1:-socker-test/tiny:1}
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
	echo "image $IMAGE already present"
	exit 0
fi
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || { echo "build-test-image: $BUSYBOX missing (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	echo "build-test-image: $BUSYBOX is not static (apt-get install busybox-static)" >&2
	exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$BUSYBOX" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
# A hostile image config would name root here; socker's spec overrides it.
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
tar -C "$root" -c . | docker import \
	--change 'USER 0' --change 'WORKDIR /tmp' --change 'ENTRYPOINT ["/bin/echo", "image-entrypoint-ran"]' \
	- "$IMAGE" >/dev/null
echo "built $IMAGE"
