// Command mrun submits an MPI job to Mesos: `mrun -N nodes -n procs -c cpus
// [-m MB] --image IMAGE --master URL PROGRAM [ARGS...]`. All logic lives in
// package sched (sched.Main).
package main

import (
	"os"

	"github.com/sockerhpc/socker/sched"
)

func main() {
	os.Exit(sched.Main(os.Args[1:]))
}
