#!/bin/sh
# The main job, after scripts/setup.sh and make install: as root, delegate the
# local Mesos' cgroups to the demo user (once per boot), then, as that user,
# run an MPI job of 4 ranks on 2 nodes of the embedded local Mesos. Each
# node's ranks run in a socker container, as the user, inside that node's
# Mesos task cgroup; every rank prints its rank, host, uid and cgroup.
set -eu
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root" >&2; exit 1; }
MRUN=${MRUN:-/usr/local/bin/mrun}
USER_NAME=${USER_NAME:-socker-demo}

"$MRUN" --setup-local "$USER_NAME"
echo "demo: as $USER_NAME ($(id "$USER_NAME")):"
echo "      mrun -N 2 -n 4 -c 1 --image socker/mpich:4 --master local:2 mpi-hello"
cd /
set +e
setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups -- \
	env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/ LC_ALL=C.UTF-8 \
	"$MRUN" -N 2 -n 4 -c 1 --image socker/mpich:4 --master local:2 mpi-hello
status=$?
set -e
echo "demo: mrun exited with status $status; socker's audit records of the job:"
tail -n 4 /var/log/socker/audit.log |
	grep -o '"event":"[a-z]*"\|"user":"[^"]*"\|"cgroup":"[^"]*"\|"cgroup_verified":[a-z]*\|"exit_status":[0-9]*' |
	paste -sd ' ' | sed 's/ "event"/\n"event"/g'
exit $status
