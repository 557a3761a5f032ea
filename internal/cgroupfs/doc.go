// Package cgroupfs writes cgroupfs for the embedded local Mesos
// (sched/localmesos) and the root test fixtures (internal/testutil).
//
// What belongs here: small helpers that change cgroup directories (removing
// a task's cgroup tree). What does not: anything the setuid socker binary
// links — package cgroup is linked there and only reads, and a dependency
// fence (cmd/socker TestDeps_Forbidden) keeps this package out of it.
package cgroupfs
