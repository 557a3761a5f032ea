#!/bin/sh
# A stand-in for `socker run [--mount M]... IMAGE -- hydra_pmi_proxy ARGS...`,
# run by the local Mesos as a task. It lives in the test's directory D:
#   D/socker.I.args, D/socker.I.agent   written: its arguments (one a line)
#                                        and MESOS_SLAVE_ID, for proxy I
#   D/ran.I                              created: proxy I has run
#   D/socker.mode                        read: how the proxy behaves:
#     ok    runs and exits 0 at once: like a real proxy, before mpiexec
#           has collected every proxy's status and exited
#     fail1 proxy 1 waits until proxy 0 has run, then exits 1 without
#           running (a node that cannot start the container); the others
#           run and stay up
#     done1 proxy 1 waits until proxy 0 has run, then exits 0 (a rank
#           that died without MPI_Finalize: its proxy ends normally); the
#           others run and stay up
#     hang  runs and stays up until killed
#     slowterm  runs and stays up; SIGTERM ends it a second later (socker
#           stopping and removing its container)
D=$(dirname "$0")
id=
prev=
for a in "$@"; do
	[ "$prev" = --proxy-id ] && id=$a
	prev=$a
done
printf '%s\n' "$@" >"$D/socker.$id.args"
echo "$MESOS_SLAVE_ID" >"$D/socker.$id.agent"

mode=$(cat "$D/socker.mode")
if [ "$mode" = fail1 ] && [ "$id" = 1 ]; then
	while [ ! -e "$D/ran.0" ]; do sleep 0.01; done
	echo "fake-socker: proxy 1 cannot start" >&2
	exit 1
fi
touch "$D/ran.$id"
[ "$mode" = ok ] && exit 0
if [ "$mode" = done1 ] && [ "$id" = 1 ]; then
	while [ ! -e "$D/ran.0" ]; do sleep 0.01; done
	exit 0
fi
if [ "$mode" = slowterm ]; then
	trap 'sleep 1; exit 143' TERM
	sleep 60 &
	wait
	exit 0
fi
exec sleep 60
