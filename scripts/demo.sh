#!/bin/sh
# The main job, until the MPI path exists: as root, make a cgroup laid out
# like a Mesos task's (the agent's cgroups isolator does this for every task),
# start a shell in it as the non-root demo user (as the agent does with
# --switch_user), and have that user run a container through the installed
# setuid socker. The container prints who it runs as and where.
set -eu
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root" >&2; exit 1; }
SOCKER=${SOCKER:-/usr/local/bin/socker}
USER_NAME=${USER_NAME:-socker-demo}
IMAGE=${IMAGE:-socker-test/tiny:1}

id=$(cat /proc/sys/kernel/random/uuid)
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	mkdir -p /sys/fs/cgroup/mesos
	echo "+memory +pids" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
	echo "+memory +pids" >/sys/fs/cgroup/mesos/cgroup.subtree_control 2>/dev/null || true
	mkdir -p "/sys/fs/cgroup/mesos/$id/leaf"
	echo $((256 * 1024 * 1024)) >"/sys/fs/cgroup/mesos/$id/memory.max"
	procs="/sys/fs/cgroup/mesos/$id/leaf/cgroup.procs"
	roots="/sys/fs/cgroup"
else
	procs=""
	for c in cpu cpuacct memory freezer; do
		mkdir -p "/sys/fs/cgroup/$c/mesos/$id"
		procs="$procs /sys/fs/cgroup/$c/mesos/$id/cgroup.procs"
	done
	echo $((256 * 1024 * 1024)) >"/sys/fs/cgroup/memory/mesos/$id/memory.limit_in_bytes"
	roots=$(ls -d /sys/fs/cgroup/*/)
fi
cleanup() {
	for r in $roots; do
		d="${r%/}/mesos/$id"
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}
trap cleanup EXIT

echo "demo: Mesos-like task cgroup /mesos/$id (memory limit 256 MiB)"
echo "demo: host view of $USER_NAME: $(id "$USER_NAME")"
echo "demo: running, as $USER_NAME inside the task cgroup:"
echo "      $SOCKER run $IMAGE -- sh -c 'id; grep -E \"memory|freezer\" /proc/self/cgroup; grep NoNewPrivs /proc/self/status'"
set +e
sh -c 'for f in '"$procs"'; do echo $$ >"$f"; done; exec "$@"' sh \
	setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups -- \
	"$SOCKER" run "$IMAGE" -- sh -c 'id; grep -E "memory|freezer" /proc/self/cgroup; grep NoNewPrivs /proc/self/status'
status=$?
set -e
echo "demo: socker exited with status $status; last audit record:"
tail -n 1 /var/log/socker/audit.log
exit $status
