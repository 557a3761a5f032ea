package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sockerhpc/socker/sched"
)

// runJob runs the job, on a local Mesos of agents agents it starts if
// local, until it ends or SIGINT or SIGTERM interrupts it (128+N), and
// returns mrun's exit status.
func runJob(o sched.Options, agents int, local bool) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	if local {
		c, err := startLocal(agents)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mrun: starting the local Mesos: %v\n", err)
			return 1
		}
		defer func() {
			c.Close()
			o.Timings.Mark("local Mesos stopped")
		}()
		o.Timings.Mark("local Mesos started")
		o.Master = c.URL()
		fmt.Fprintf(os.Stderr, "mrun: local Mesos with %d agents at %s\n", agents, o.Master)
	}
	code, err := sched.Run(ctx, o)
	if errors.Is(err, sched.ErrInterrupted) {
		select {
		case s := <-sigs:
			return 128 + int(s.(syscall.Signal))
		default:
			return 130
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mrun: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
