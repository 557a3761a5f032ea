// Package testutil holds the fixtures of socker's root tests and benchmarks:
// real Unix users and groups, Mesos-like task cgroups (created with
// github.com/containerd/cgroups/v3, laid out as the Mesos cgroups isolator
// does), the socker binary built and installed setuid root, and Docker
// queries. It needs root and is never linked into the socker binary.
//
// What does not belong here: anything the product uses at run time.
package testutil
