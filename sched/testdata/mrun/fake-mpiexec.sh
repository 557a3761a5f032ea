#!/bin/sh
# A stand-in for `mpiexec.hydra -launcher manual -hosts h0:k0,h1:k1,... -n N
# -wdir DIR PROGRAM...` (see sched/hydra.go). It lives in the test's
# directory D, next to the files it reads and writes:
#   D/mpiexec.pid, D/mpiexec.args   written: its pid, its arguments (one a line)
#   D/ran.I                         waited for: proxy I has run
#   D/mpiexec.then                  read: what to do once every proxy has run:
#                                   an exit status, "TERM" (die by SIGTERM) or
#                                   "hang"
D=$(dirname "$0")
echo $$ >"$D/mpiexec.pid"
printf '%s\n' "$@" >"$D/mpiexec.args"
hosts=
while [ $# -gt 0 ]; do
	[ "$1" = -hosts ] && hosts=$2
	shift
done
n=$(printf '%s\n' "$hosts" | tr , '\n' | grep -c .)

# hydra may print warnings before its launch lines: mrun copies them to stderr.
echo "fake-mpiexec: a warning before the launch lines"
# One launch line per host, as MPICH 4.0.2 prints it (trailing space
# included), in reverse order: mrun must go by --proxy-id, not by line order.
i=$((n - 1))
while [ "$i" -ge 0 ]; do
	echo "HYDRA_LAUNCH: /usr/bin/hydra_pmi_proxy --control-port vm:38519 --rmk user --launcher manual --demux poll --pgid 0 --retries 10 --usize -2 --pmi-port 0 --gpus-per-proc -2 --proxy-id $i "
	i=$((i - 1))
done
echo HYDRA_LAUNCH_END

# Like hydra, wait for every proxy to connect back (at most ~30 s).
i=0
while [ "$i" -lt "$n" ]; do
	tries=0
	while [ ! -e "$D/ran.$i" ]; do
		tries=$((tries + 1))
		[ "$tries" -le 3000 ] || exit 99
		sleep 0.01
	done
	i=$((i + 1))
done
# Exit a little after the proxies, so that their tasks usually end first,
# as with real hydra (mrun must still report mpiexec's status).
sleep 0.3
echo "fake-mpiexec: the job's output"
echo "fake-mpiexec: the job's diagnostics" >&2

then=$(cat "$D/mpiexec.then")
case "$then" in
TERM) kill -TERM $$ ;;
hang) exec sleep 60 ;;
esac
exit "$then"
